"""Half-planes and threshold networks on the plane (nets/playground/halfplanes.py, threshold.py)."""
import numpy as np
import pytest
import torch

from nets.calculators import logic_network as logic
from nets.calculators.boolean_expression import parse
from nets.playground import halfplanes, link, threshold
from nets.playground.model import flat_weights, output
from nets.playground.state import new_state

CENTRES = torch.tensor([[3.0, 3.0], [-3.0, 3.0], [-3.0, -3.0], [3.0, -3.0]])  # quadrants I, II, III, IV


def ends(got):
    return None if got is None else {tuple(np.round(p, 6)) for p in got}


@pytest.mark.parametrize("w1, w2, b, want", [
    (1, 0, -2, {(2, -6), (2, 6)}),  # vertical: x1 = 2
    (0, 2, 3, {(-6, -1.5), (6, -1.5)}),  # horizontal: x2 = -1.5
    (1, 1, 0, {(-6, 6), (6, -6)}),  # the diagonal x2 = -x1, corner to corner
    (1, -1, -3, {(-3, -6), (6, 3)}),  # x2 = x1 - 3: in through the bottom edge, out through the right
    (1, 1, -20, None),  # x1 + x2 = 20 misses the square
    (1, 1, -12, None),  # x1 + x2 = 12 only touches the corner (6, 6)
    (0, 0, 1, None),  # no line at all
])
def test_segment_hand_worked(w1, w2, b, want):
    assert ends(halfplanes.segment(w1, w2, b)) == want


def test_lines_only_for_x1_x2_and_only_crossing_neurons():
    W, b = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]]), np.array([-2.0, -20.0, 3.0])
    got = halfplanes.lines(W, b)
    assert [s.unit for s in got] == [0, 2] and got[1].normal == (0.0, 2.0)
    assert ends((got[0].start, got[0].end)) == {(2, -6), (2, 6)}
    assert halfplanes.lines(W, b, ("x1", "x2", "x1^2")) == [] and halfplanes.lines(W, b, ("x2",)) == []


def xor_state():
    net = logic.networks(parse("P xor Q"))[0]
    cfg, weights = threshold.playground_weights(net.W, net.b, net.c)
    return cfg, weights, new_state(cfg, 0, weights)


def test_xor_network_separates_the_quadrants():
    cfg, weights, state = xor_state()
    assert (cfg.data.dataset, cfg.net.hidden, cfg.features) == ("xor", (2,), ("x1", "x2"))
    assert np.allclose(flat_weights(state.model), weights, atol=1e-6)
    with torch.no_grad():
        out = output(state.model, state.model(CENTRES)).numpy()
    assert np.array_equal(np.sign(out), [1, -1, 1, -1]) and np.all(np.abs(out) > 0.9)  # TF's XOR labels
    with torch.no_grad():  # most of TF's XOR points are right before any training
        right = np.sign(output(state.model, state.model(state.train_x)).numpy()) == state.train_y.numpy()
    assert right.mean() > 0.8
    lines = halfplanes.lines(*[t.detach().numpy() for t in (state.model.hidden[0][0].weight,
                                                           state.model.hidden[0][0].bias)])
    assert len(lines) == 2  # the two units' lines x1 - x2 = ±3 (bit 1 at x = 3)
    for s in lines:
        assert all(abs(abs(x1 - x2) - 3) < 1e-4 for x1, x2 in (s.start, s.end))


def test_other_two_variable_functions_and_refusals():
    net = logic.networks(parse("P and Q"))[0]
    cfg, weights = threshold.playground_weights(net.W, net.b, net.c)
    state = new_state(cfg, 0, weights)
    with torch.no_grad():  # y = 1 (orange, -1) only where both bits are 1: quadrant I
        assert np.array_equal(np.sign(output(state.model, state.model(CENTRES)).numpy()), [-1, 1, 1, 1])
    with pytest.raises(ValueError, match="two variables"):
        threshold.playground_weights(np.ones((2, 3)), np.zeros(2), -0.5)
    with pytest.raises(ValueError, match="1 to 8"):
        threshold.playground_weights(np.ones((0, 2)), np.zeros(0), -0.5)


def test_weights_travel_in_the_link():
    cfg, weights, _ = xor_state()
    got = link.decode(link.params(cfg, weights=weights))
    assert got.cfg == cfg and got.problems == [] and np.allclose(got.weights, weights, atol=1e-5)
    for bad, word in (("1,2,3", "has 9 weights"), ("a,b", "not a number"), (",".join(["1e9"] * 9), "-100 to 100"),
                      ("nan," * 8 + "1", "finite")):
        got = link.decode(link.params(cfg) | {"weights": bad})
        assert got.weights is None and word in " ".join(got.problems), (bad, got.problems)
    got = link.decode(link.params(cfg.changed(batch_norm=True), weights=weights))
    assert got.weights is None and "batch norm" in " ".join(got.problems)
