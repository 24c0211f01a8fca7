"""nets.calculators.forward_pass against values worked out by hand (σ(6) = 1/(1 + e^-6) = 0.997527, and so on)."""
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nets.calculators import forward_pass as fw
from nets.calculators import forward_quiz as fq


def sigma(z):
    return 1 / (1 + math.exp(-z))


def small_net():
    """2 inputs → 2 sigmoid units → softmax over 2 classes, identity output weights."""
    return [fw.Layer(np.array([[1.0, -1.0], [0.0, 2.0]]), np.array([0.0, -1.0]), "sigmoid"),
            fw.Layer(np.eye(2), np.zeros(2), "softmax")]


def test_coursework_network_by_hand():
    net = fw.constant_network(fw.COURSEWORK)
    assert [(l.W.shape, l.activation) for l in net] == [((3, 3), "sigmoid")] * 2 + [((3, 3), "softmax")]
    s1, s2 = fw.forward(net, [1, 2, 3])[:2]
    # z1 = 1+2+3 = 6, a1 = σ(6) = 0.997527; z2 = 3·0.997527 = 2.992582, a2 = σ(2.992582) = 0.952238
    assert s1.z == pytest.approx([6, 6, 6]) and s1.a == pytest.approx([0.9975274] * 3, abs=1e-7)
    assert s2.z == pytest.approx([2.9925821] * 3, abs=1e-7) and s2.a == pytest.approx([0.9522379] * 3, abs=1e-7)
    out = fw.forward(net, [1, 2, 3])[-1]
    assert out.z == pytest.approx([2.8567137] * 3, abs=1e-7) and out.a == pytest.approx([1 / 3] * 3)
    # x = 0: z1 = 0, a1 = 0.5, z2 = 1.5, a2 = σ(1.5) = 0.817574, z3 = 2.452724
    steps = fw.forward(net, [0, 0, 0])
    assert steps[1].a == pytest.approx([0.8175745] * 3, abs=1e-7) and steps[2].a == pytest.approx([1 / 3] * 3)


def test_small_network_by_hand():
    steps = fw.forward(small_net(), [1, 1])
    # z1 = (1 − 1 + 0, 0 + 2 − 1) = (0, 1); a1 = (0.5, σ(1) = 0.731059)
    assert steps[0].z == pytest.approx([0, 1]) and steps[0].a == pytest.approx([0.5, 0.7310586], abs=1e-7)
    # p1 = 1/(1 + e^(0.731059 − 0.5)) = 1/(1 + e^0.231059) = 1/(1 + 1.259933) = 0.442491
    assert steps[1].a == pytest.approx([0.442491, 0.557509], abs=1e-6)


def test_activations_and_stable_softmax():
    z = np.array([-2.0, 0.0, 1.0])
    assert fw.activate(z, "tanh") == pytest.approx([-0.9640276, 0, 0.7615942], abs=1e-7)
    assert fw.activate(z, "relu").tolist() == [0, 0, 1]
    assert fw.activate(z, "linear").tolist() == [-2, 0, 1]
    assert fw.activate(np.array([0.0, math.log(3)]), "softmax") == pytest.approx([0.25, 0.75])
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no overflow on the way
        assert fw.activate(np.array([1000.0, 1000.0, 1000.0]), "softmax") == pytest.approx([1 / 3] * 3)
        assert fw.activate(np.array([-1000.0, 1000.0]), "sigmoid").tolist() == [0.0, 1.0]
    with pytest.raises(fw.ForwardError, match="Unknown activation"):
        fw.activate(z, "swish")


def test_wrong_input_length_is_explained():
    with pytest.raises(fw.ForwardError, match="expects 2 inputs but x has 3"):
        fw.forward(small_net(), [1, 2, 3])


def test_numbers_and_vectors():
    assert fw.parse_number("0.952") == 0.952 and fw.parse_number(" 1/3 ") == pytest.approx(1 / 3)
    assert fw.parse_number("−2") == -2 and fw.parse_number("-3/4") == -0.75 and fw.parse_number(2) == 2.0
    for bad in ("abc", "1/0", "", None, float("nan")):
        with pytest.raises(fw.ForwardError):
            fw.parse_number(bad)
    assert fw.parse_vector("1, 2; 3", 3).tolist() == [1, 2, 3]
    assert fw.parse_vector("(1/2 -1)", 2).tolist() == [0.5, -1]
    with pytest.raises(fw.ForwardError, match="x: type 3 numbers separated by commas; you typed 2"):
        fw.parse_vector("1, 2", 3)
    with pytest.raises(fw.ForwardError, match="'two' is not a number"):
        fw.parse_vector("1, two", 2)


def test_tables_round_trip_and_name_the_bad_cell():
    layer = small_net()[0]
    df = fw.layer_table(layer, 1)
    assert list(df.columns) == ["x1", "x2", "b"] and list(df.index) == ["unit 1", "unit 2"]
    back = fw.layer_from_table(df, 1, "sigmoid")
    assert back.W.tolist() == layer.W.tolist() and back.b.tolist() == layer.b.tolist()
    assert list(fw.layer_table(layer, 2).columns) == ["a1", "a2", "b"]
    df.loc["unit 2", "x1"] = np.nan
    with pytest.raises(fw.ForwardError, match="Layer 1, unit 2, column x1 is empty"):
        fw.layer_from_table(df, 1, "sigmoid")
    text = pd.DataFrame({"x1": ["1/2"], "b": ["oops"]}, index=["unit 1"])
    with pytest.raises(fw.ForwardError, match="column b holds 'oops' is not a number"):
        fw.layer_from_table(text, 1, "relu")


def test_the_network_comes_back_from_its_tables_with_each_layer_named():
    arch = fw.Architecture(2, ((3, "relu"),), 2)
    net = fw.random_network(arch, 3)
    back = fw.network_from_tables([fw.layer_table(l, i) for i, l in enumerate(net, 1)], arch)
    assert [(l.W.tolist(), l.b.tolist(), l.activation) for l in back] == \
        [(l.W.tolist(), l.b.tolist(), l.activation) for l in net]
    assert [fw.layer_name(l, 2, act) for l, (_, _, act) in enumerate(arch.shapes(), 1)] == \
        ["layer 1 (relu)", "output (softmax)"]
    assert fw.vector_text([1, 0.5, -2]) == "(1, 0.5, -2)"


def test_fill_and_random_weights():
    net = fw.fill(fw.constant_network(fw.COURSEWORK), w=0.5)
    assert all((l.W == 0.5).all() and (l.b == 0).all() for l in net)
    net = fw.fill(net, b=-1)
    assert all((l.W == 0.5).all() and (l.b == -1).all() for l in net)
    r1, r2 = fw.random_network(fw.COURSEWORK, 7), fw.random_network(fw.COURSEWORK, 7)
    assert all((a.W == b.W).all() for a, b in zip(r1, r2))
    values = np.concatenate([l.W.ravel() for l in r1] + [l.b for l in r1])
    assert set(values * 2) <= set(range(-4, 5))   # halves in [-2, 2]


def test_shapes_and_default_x():
    arch = fw.Architecture(2, ((4, "relu"),), 3)
    assert [s[:2] for s in arch.shapes()] == [(4, 2), (3, 4)]
    assert fw.fits(fw.constant_network(arch), arch) and not fw.fits(fw.constant_network(fw.COURSEWORK), arch)
    assert not fw.fits(None, arch)
    assert fw.default_x(3) == "1, 2, 3" and fw.default_x(2) == "1, 2"


def test_latex_has_the_numbers_substituted():
    net = fw.constant_network(fw.COURSEWORK)
    steps = fw.forward(net, [1, 2, 3])
    lin = fw.latex_linear(1, net[0], steps[0])
    assert lin.startswith(r"z^{(1)} = W^{(1)} x + b^{(1)} = \begin{bmatrix}1 & 1 & 1 \\ 1 & 1 & 1")
    assert lin.endswith(r"= \begin{bmatrix}6 \\ 6 \\ 6\end{bmatrix}")
    assert r"z^{(1)}_1 &= 1 \cdot 1 + 1 \cdot 2 + 1 \cdot 3 + 0 = 6" in fw.latex_units(1, net[0], steps[0])
    assert r"a^{(2)} = W" not in fw.latex_linear(2, net[1], steps[1])
    assert fw.latex_linear(2, net[1], steps[1]).startswith(r"z^{(2)} = W^{(2)} a^{(1)} + b^{(2)}")
    assert r"\sigma(6) = \frac{1}{1 + e^{-6}} = 0.9975" in fw.latex_activation(1, net[0], steps[0])
    soft = fw.latex_softmax(steps[-1])
    assert r"m = \max_j z_j = 2.8567" in soft and "e^{0} + e^{0} + e^{0} = 3" in soft
    assert r"\begin{bmatrix}0.3333 \\ 0.3333 \\ 0.3333\end{bmatrix}" in soft
    neg = fw.forward(small_net(), [-1, 0.5])[0]   # z = (-1.5, 0): negatives are bracketed
    assert r"1 \cdot (-1) + (-1) \cdot 0.5 + 0 = -1.5" in fw.latex_units(1, small_net()[0], neg)
    assert fw.num(1e-7) == r"1.000 \times 10^{-7}" and fw.num(-0.00001) != "-0"


def test_symbolic_argument_for_the_coursework_network():
    arg = fw.symbolic_uniform_explanation(fw.constant_network(fw.COURSEWORK))
    assert arg.first_layer == 1 and arg.value == "1/3"
    text = "\n".join(arg.lines)
    assert "z^{(1)}_j = x_1 + x_2 + x_3" in text and r"z^{(2)}_j = 3\,s_1" in text
    assert r"z^{(3)}_j = 3\,s_2" in text and r"\dfrac{1}{3}" in text


def test_symbolic_argument_finds_the_first_equal_layer_or_none():
    arch = fw.Architecture(2, ((3, "tanh"),), 4)
    net = fw.random_network(arch, 3)
    assert fw.symbolic_uniform_explanation(net) is None
    net[-1] = fw.Layer(np.tile([0.5, -1, 2], (4, 1)), np.full(4, 0.25), "softmax")
    arg = fw.symbolic_uniform_explanation(net)
    assert arg.first_layer == 2 and arg.value == "1/4"
    assert r"0.5\,a^{(1)}_1 - a^{(1)}_2 + 2\,a^{(1)}_3 + 0.25" in arg.lines[0]
    # Equal first layer, but the output rows sum to different numbers: not forced.
    net = fw.constant_network(arch)
    net[-1] = fw.Layer(np.array([[1.0, 0, 0], [0, 2, 0], [1, 1, 1], [0, 0, 0]]), np.zeros(4), "softmax")
    assert fw.symbolic_uniform_explanation(net) is None
    # Rows differ but sum alike, after an equal layer: still uniform.
    net[-1] = fw.Layer(np.array([[3.0, 0, 0], [0, 3, 0], [1, 1, 1], [-1, 2, 2]]), np.ones(4), "softmax")
    assert fw.symbolic_uniform_explanation(net).first_layer == 1


@settings(max_examples=40, deadline=None)
@given(x=st.lists(st.floats(-50, 50), min_size=3, max_size=3), w=st.sampled_from([-2, -0.5, 1, 3]),
       b=st.sampled_from([-1, 0, 2]))
def test_the_argument_holds_for_any_x(x, w, b):
    net = fw.constant_network(fw.COURSEWORK, w, b)
    assert fw.symbolic_uniform_explanation(net) is not None
    assert fw.forward(net, x)[-1].a == pytest.approx([1 / 3] * 3)


def test_quiz_checks_within_rounding_and_names_the_slip():
    qs = fq.quantities(fw.forward(fw.constant_network(fw.COURSEWORK), [1, 2, 3]))
    labels = [q.label for q in qs]
    assert labels[:2] == ["layer 1: z_1", "layer 1: a_1"] and "output: p_3 (softmax)" in labels
    a1 = qs[1]
    assert a1.value == pytest.approx(0.9975274, abs=1e-7)
    assert fq.check_answer(a1, "0.998", qs)[0] and fq.check_answer(a1, "0.9975", qs)[0]
    ok, text = fq.check_answer(a1, "0.99", qs)
    assert not ok and "0.9975" not in text   # a wrong answer does not give the value away
    ok, text = fq.check_answer(a1, "6", qs)
    assert not ok and "That is $z^{(1)}_1$" in text
    p1 = qs[labels.index("output: p_1 (softmax)")]
    assert fq.check_answer(p1, "1/3", qs) == (True, "Correct: $p_1 = 0.3333$.")
    assert fq.check_answer(p1, "0.33", qs)[0] and not fq.check_answer(p1, "0.32", qs)[0]
    ok, text = fq.check_answer(p1, "a third", qs)
    assert not ok and "could not read" in text
