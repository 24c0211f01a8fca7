"""Playground weights one at a time (nets/playground/edges.py): the listing is the model's parameters, setting one changes only it."""
import math

import pytest
import torch

from nets.playground import edges
from nets.playground.model import NetConfig, PlaygroundNet, flat_weights, linears
from nets.playground.state import PlaygroundConfig, new_state


def net(features=("x1", "x2", "x1x2"), hidden=(3, 2), classes=2):
    return PlaygroundNet(len(features), NetConfig(hidden=hidden), classes, torch.Generator().manual_seed(1))


def test_listing_is_the_models_parameters_in_flat_order():
    features = ("x1", "x2", "x1x2")
    model = net(features)
    got = edges.listing(model, features)
    assert len(got) == sum(p.numel() for p in model.parameters()) == len(flat_weights(model))
    assert [w.index for w in got] == list(range(len(got)))
    assert [edges.value(model, w) for w in got] == pytest.approx(flat_weights(model))
    names = [w.name for w in got]
    assert len(set(names)) == len(names)
    assert names[:4] == ["x1 → h1.1", "x2 → h1.1", "x1x2 → h1.1", "x1 → h1.2"]
    assert "bias of h1.3" in names and "h1.3 → h2.2" in names and names[-3:] == ["h2.1 → out", "h2.2 → out", "bias of out"]
    W = linears(model)[1].weight  # h1.3 → h2.2 is layer 2's W[1, 2]
    assert edges.value(model, got[names.index("h1.3 → h2.2")]) == pytest.approx(W[1, 2].item())


def test_names_for_k_classes_and_no_hidden_layer():
    names = [w.name for w in edges.listing(net(("x1",), (), classes=3), ("x1",))]
    assert names == ["x1 → out.1", "x1 → out.2", "x1 → out.3", "bias of out.1", "bias of out.2", "bias of out.3"]


def test_setting_one_weight_changes_exactly_it_and_the_output():
    state = new_state(PlaygroundConfig().changed(dataset="xor"), 3)
    model, features = state.model, state.cfg.features
    chosen = next(w for w in edges.listing(model, features) if w.name == "x2 → h1.3")
    before, x = flat_weights(model), state.test_x
    with torch.no_grad():
        out_before = model(x).clone()
    edges.set_weight(model, chosen, 2.5)
    after = flat_weights(model)
    changed = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
    assert changed == [chosen.index] and after[chosen.index] == 2.5
    with torch.no_grad():  # the output is the network recomputed with W1[2, 1] = 2.5 by hand
        W1, b1 = linears(model)[0].weight, linears(model)[0].bias
        a = torch.tanh(x @ W1.T + b1)
        for block in list(model.hidden)[1:]:
            a = block(a)
        assert torch.allclose(model(x), model.out(a)) and not torch.allclose(model(x), out_before)
    a_bias = next(w for w in edges.listing(model, features) if w.name == "bias of out")
    edges.set_weight(model, a_bias, -1)
    assert linears(model)[-1].bias.item() == -1


@pytest.mark.parametrize("bad", [math.nan, math.inf, 101.0, -1e9])
def test_bad_values_are_refused(bad):
    model = net()
    w = edges.listing(model, ("x1", "x2", "x1x2"))[0]
    before = flat_weights(model)
    with pytest.raises(ValueError, match="from -100 to 100"):
        edges.set_weight(model, w, bad)
    assert flat_weights(model) == before


def test_boxed():
    assert (edges.boxed(0.5), edges.boxed(1e6), edges.boxed(-1e6), edges.boxed(math.nan)) == (0.5, 100, -100, 0)
