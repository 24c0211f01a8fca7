"""The builder's arithmetic: shapes, parameters and multiply-adds of a layer list; every catalogued problem
names its layer, what comes in and what it expects, and every fix makes that problem go away."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from netspec_tools import SHAPES, any_specs, random_valid, valid_specs

from nets.calculators import conv_arithmetic as ca
from nets.engine import netshape, netspec
from nets.engine.netshape import Fix, analyse, apply_fix, shape_text
from nets.engine.netspec import from_text, layer

LENET = "conv_6_k5_p2,relu,maxpool_2,conv_16_k5,relu,maxpool_2,flatten,linear_120,relu,linear_84,relu,linear"
HEAD = "conv_6_k5,maxpool_2,conv_16_k5,maxpool_2"   # 1×28×28 → 16×4×4
MNIST = (1, 28, 28)

# (spec, classes, the problem's layer index, its label, words its text must hold, its fixes in order)
CATALOGUE = [
    (HEAD + ",linear_120,relu,linear", 10, 4, "Linear 1", ["16×4×4 map", "takes a flat vector"],
     ["insert Flatten before Linear 1"]),
    (HEAD + ",flatten,linear_120_i400,relu,linear", 10, 5, "Linear 1",
     ["expects 400 inputs (in=400)", "gets 256 = 16×4×4", "mat1 and mat2 shapes cannot be multiplied (64x256 and 400x120)"],
     ["set in to 256", "make in automatic"]),
    (HEAD + ",conv_8_k5,flatten,linear", 10, 4, "Conv 3", ["5×5 kernel does not fit the 4×4 map (padding 0)"],
     ["padding 2 keeps 4×4", "kernel 3", "remove Conv 3"]),
    (HEAD + ",conv_8_k6_s2,flatten,linear", 10, 4, "Conv 3", ["6×6 kernel does not fit the 4×4 map"],
     ["padding 1", "kernel 3", "remove Conv 3"]),
    (HEAD + ",flatten,conv_8_k3,linear", 10, 5, "Conv 3",
     ["needs a C×H×W map but gets 256 numbers (Flatten is layer 5)"], ["move Flatten after Conv 3", "remove Conv 3"]),
    (HEAD + ",flatten,linear_32,relu,gap,linear", 10, 7, "GAP 1", ["needs a C×H×W map but gets 32 numbers"],
     ["remove GAP 1"]),
    (HEAD + ",flatten,dropout2d,linear", 10, 5, "Dropout2d 1", ["needs a C×H×W map"],
     ["move Flatten after Dropout2d 1", "remove Dropout2d 1"]),
    (HEAD + ",flatten,residual_8,linear", 10, 5, "Res 1", ["needs a C×H×W map"], ["move Flatten after Res 1", "remove Res 1"]),
    (HEAD + ",flatten,gated_8,linear", 10, 5, "Gated 1", ["needs a C×H×W map"], ["move Flatten after Gated 1", "remove Gated 1"]),
    (HEAD + ",flatten,maxpool_2,linear", 10, 5, "MaxPool 3", ["needs a C×H×W map"],
     ["move Flatten after MaxPool 3", "remove MaxPool 3"]),
    (HEAD + ",gated_8,flatten,linear", 10, 4, "Gated 1", ["5×5 kernels do not fit the 4×4 map"], ["remove Gated 1"]),
    ("gap,maxpool_2,flatten,linear", 10, 1, "MaxPool 1", ["2×2 pool on a 1×1 map is impossible", "remove it"],
     ["remove MaxPool 1"]),
    (HEAD + ",avgpool_5,flatten,linear", 10, 4, "AvgPool 1", ["5×5 pool on a 4×4 map is impossible"],
     ["remove AvgPool 1", "kernel 4"]),
    ("maxpool_2_p2,flatten,linear", 10, 0, "MaxPool 1", ["padding 2 is more than half its 2×2 window"], ["padding 1"]),
    ("conv_6_k5,conv_16_k3_g4,flatten,linear", 10, 1, "Conv 2",
     ["groups 4 must divide its 6 input channels and its 16 outputs"], ["groups 2", "groups 1"]),
    ("conv_6_k5,conv_15_k3_g4,flatten,linear", 10, 1, "Conv 2", ["groups 4 must divide"], ["groups 3", "groups 1"]),
    (HEAD, 10, -1, "the network", ["must end in a Linear layer with one output per class (10)", "16×4×4 map"],
     ["add Flatten and Linear (10 outputs) at the end"]),
    (HEAD + ",flatten", 10, -1, "the network", ["must end in a Linear layer", "256 numbers"],
     ["add Linear (10 outputs) at the end"]),
    (LENET[:LENET.rindex(",relu")], 10, 9, "Linear 2", ["Linear 2 is the output: it needs 10 outputs, one per class, not 84"],
     ["follow the classes (out 0)"]),
    ("", 10, -1, "the network", ["No layers yet"], ["start with Flatten → Linear"]),
]


def _problem(spec, classes, shape=MNIST):
    analysis = analyse(from_text(spec), shape, classes)
    assert not analysis.ok, spec
    return analysis, analysis.problems[0]


@pytest.mark.parametrize("spec, classes, index, label, words, fixes", CATALOGUE)
def test_each_problem_names_the_layer_what_comes_in_and_the_fixes(spec, classes, index, label, words, fixes):
    analysis, problem = _problem(spec, classes)
    assert (problem.index, problem.label) == (index, label)
    assert label.lower() in problem.text.lower()
    for word in words:
        assert word in problem.text
    assert [f.text for f in problem.fixes] == fixes
    if index >= 0 and "is the output" not in problem.text:
        # the walk stops at the problem: its row has no output, nor have the rows after it
        assert analysis.rows[index].out_shape is None and analysis.rows[index].in_shape is not None
        assert all(r.out_shape is None and r.in_shape is None for r in analysis.rows[index + 1:])
        assert all(r.out_shape is not None for r in analysis.rows[:index])
    assert analysis.out_shape is None


def _gone(layers, fix, problem, shape=MNIST, classes=10):
    """The fix's network no longer has the problem (removing a layer may bring up an identical twin: its own)."""
    fixed = apply_fix(layers, fix)
    texts = [p.text for p in analyse(fixed, shape, classes).problems]
    twin = fix.op == "remove" and [netspec.normal(d) for d in layers[fix.index + 1:fix.index + 2]] == list(
        fixed[fix.index:fix.index + 1])
    assert problem.text not in texts or twin, (netspec.to_text(fixed), problem.text)


@pytest.mark.parametrize("spec, classes, index, label, words, fixes", CATALOGUE)
def test_every_fix_removes_its_problem_and_first_fixes_end_in_a_valid_network(spec, classes, index, label, words,
                                                                              fixes):
    layers = from_text(spec)
    _, problem = _problem(spec, classes)
    for fix in problem.fixes:
        _gone(layers, fix, problem)
    for _ in range(10):
        analysis = analyse(layers, MNIST, classes)
        if analysis.ok:
            break
        layers = apply_fix(layers, analysis.problems[0].fixes[0])
    assert analysis.ok, netspec.to_text(layers)


def test_lenet_by_hand():
    analysis = analyse(from_text(LENET), MNIST, 10)
    assert analysis.ok and not analysis.warnings
    # conv 1: (5·5·1 + 1)·6, conv 2: (5·5·6 + 1)·16, then (400+1)·120, (120+1)·84, (84+1)·10
    assert [r.params for r in analysis.rows if r.params] == [156, 2_416, 48_120, 10_164, 850]
    assert analysis.params == 61_706
    assert [shape_text(r.out_shape) for r in analysis.rows] == [
        "6×28×28", "6×28×28", "6×14×14", "16×10×10", "16×10×10", "16×5×5", "400", "120", "120", "84", "84", "10"]
    # multiply-adds: 28·28·25·6, 10·10·150·16, 400·120, 120·84, 84·10
    assert analysis.mult_adds == 117_600 + 240_000 + 48_000 + 10_080 + 840
    assert [r.settings for r in analysis.rows[:3]] + [analysis.rows[7].settings] == [
        "5×5, 1→6, pad 2", "", "2×2 / 2", "400 → 120"]
    assert [r.label for r in analysis.rows][:4] == ["Conv 1", "ReLU 1", "MaxPool 1", "Conv 2"]
    assert analysis.out_shape == (10,)


def test_residual_gated_batchnorm_and_groups_by_hand():
    a = analyse(from_text("conv_8_k3_p1,batchnorm,residual_16_s2,residual_16,gated_4_tanh,conv_8_k1_g4_nobias,"
                          "gap,flatten,batchnorm,linear"), (3, 32, 32), 10)
    assert a.ok, a.problems
    conv, bn, res, res2, gated, grouped = a.rows[:6]
    assert bn.params == 16 and res.out_shape == (16, 16, 16) and res2.out_shape == (16, 16, 16)
    # conv a 3×3 8→16 + bn + conv b 3×3 16→16 + bn + shortcut 1×1 8→16 + bn (no biases)
    assert res.params == 9 * 8 * 16 + 32 + 9 * 16 * 16 + 32 + 8 * 16 + 32
    assert res2.params == 9 * 16 * 16 + 32 + 9 * 16 * 16 + 32  # no shortcut: same channels, stride 1
    assert res.settings == "8 → 16, /2"
    assert gated.out_shape == (4, 12, 12) and gated.params == 2 * (25 * 16 + 1) * 4 + (16 + 1) * 2
    assert grouped.params == 1 * 1 * (4 // 4) * 8 and grouped.settings == "1×1, 4→8, groups 4, no bias"
    assert a.rows[8].params == 2 * 8 and a.rows[8].settings == "8 features"  # BatchNorm1d on the vector


def test_conv_sizes_agree_with_the_calculator():
    checked = 0
    for seed in range(300):
        shape = SHAPES[seed % 2]
        layers = random_valid(seed, shape)
        for d, row in zip(layers, analyse(layers, shape, 10).rows):
            if d["type"] != "conv":
                continue
            (c, h, w), (out, ho, wo) = row.in_shape, row.out_shape
            k, s, p, g = d["kernel"], d["stride"], d["padding"], d["groups"]
            assert row.params == ca.conv_params(k, c // g, out, d["bias"])
            assert row.mult_adds == ca.mult_adds(ho, wo, k, c // g, out)
            if (h + 2 * p - k) % s == 0 and (w + 2 * p - k) % s == 0:
                assert (ho, wo) == (ca.conv_output(h, k, p, s), ca.conv_output(w, k, p, s))
                checked += 1
    assert checked > 50


def test_classes_unknown_are_not_checked_and_counted_as_two():
    a = analyse(from_text("flatten,linear"), MNIST, None)
    assert a.ok and a.rows[1].settings == "784 → classes" and a.params == 785 * 2
    assert analyse(from_text("flatten,linear_84"), MNIST, None).ok
    assert "one output per class;" in _problem("flatten", None)[1].text


def test_warnings_do_not_block():
    relu_out = analyse(from_text("flatten,linear,relu"), MNIST, 10)
    assert relu_out.ok and relu_out.warnings[0].label == "ReLU 1" and "after the output" in relu_out.warnings[0].text
    assert apply_fix(from_text("flatten,linear,relu"), relu_out.warnings[0].fixes[0]) == from_text("flatten,linear")
    stack = analyse(from_text("flatten,linear_64,linear"), MNIST, 10)
    assert stack.ok and "one linear map" in stack.warnings[0].text
    assert not analyse(apply_fix(from_text("flatten,linear_64,linear"), stack.warnings[0].fixes[0]), MNIST, 10).warnings
    floored = analyse(from_text("conv_4_k3_s2,flatten,linear"), MNIST, 10)
    assert floored.ok and "(28 + 2·0 − 3)/2 + 1 = 13.5: PyTorch floors it to 13" in floored.warnings[0].text
    whole = analyse(from_text("conv_4_k3_s3,flatten,linear"), MNIST, 10)
    assert whole.ok and "(28 + 2·0 − 3)/3 + 1 = 9.333: PyTorch floors it to 9" in whole.warnings[0].text
    assert "padding 1 makes it whole" in whole.warnings[0].text
    fixed = apply_fix(from_text("conv_4_k3_s3,flatten,linear"), whole.warnings[0].fixes[0])
    assert not analyse(fixed, MNIST, 10).warnings
    deep = analyse(from_text("flatten" + ",linear_32,sigmoid" * 5 + ",linear"), MNIST, 10)
    assert deep.ok and [w.label for w in deep.warnings] == ["the network"]
    assert deep.warnings[0].text.startswith("5 Sigmoid/Tanh layers without a BatchNorm before them")
    assert not analyse(from_text("flatten" + ",linear_32,batchnorm,sigmoid" * 5 + ",linear"), MNIST, 10).warnings
    assert not analyse(from_text("flatten" + ",linear_32,sigmoid" * 4 + ",linear"), MNIST, 10).warnings


def test_structural_problems_come_first_name_the_layer_and_have_no_fixes():
    a = analyse([layer("flatten"), {"type": "conv", "kernel": 40}, {"type": "linear"}], MNIST, 10)
    assert [(p.index, p.label, p.fixes) for p in a.problems] == [(1, "Conv 1", ())]
    assert "kernel 40" in a.problems[0].text and a.rows == () and a.out_shape is None
    for hostile in ("conv", 5, None, [layer("relu")] * 65):
        assert analyse(hostile, MNIST, 10).problems[0].label == "the network"
    assert analyse([{"type": "linear", "out": 10**400}], MNIST, 10).problems[0].label == "Linear 1"


def test_absurd_specs_are_numbers_not_memory():
    a = analyse(from_text("flatten,linear_16384"), (2048, 512, 512), 10)
    assert "8.8 trillion parameters" in a.problems[0].text and a.problems[0].label == "Linear 1"
    assert a.problems[0].fixes[0].text == "insert MaxPool 2 before Flatten"
    big = analyse(from_text("conv_2048_k1_p15,flatten,linear"), (3, 2300, 2300), 10)
    assert big.problems[0].text == ("Conv 1 would output 11.1 billion numbers per image (2048×2330×2330), "
                                    "more than 10 billion")


def test_apply_fix_is_pure_and_does_each_operation():
    layers = from_text("flatten,relu,linear")
    L = layer
    assert apply_fix(layers, Fix("", "insert", 1, L("dropout"))) == from_text("flatten,dropout,relu,linear")
    assert apply_fix(layers, Fix("", "set", 1, L("tanh"))) == from_text("flatten,tanh,linear")
    assert apply_fix(layers, Fix("", "remove", 1)) == from_text("flatten,linear")
    assert apply_fix(layers, Fix("", "move", 0, to=1)) == from_text("relu,flatten,linear")
    assert apply_fix(layers, Fix("", "append", 3, (L("relu"), L("gelu")))) == from_text("flatten,relu,linear,relu,gelu")
    assert layers == from_text("flatten,relu,linear")
    assert analyse([{"type": "flatten"}, {"type": "linear"}], MNIST, 10).ok  # raw dicts, defaults filled
    assert analyse((netspec.Layer({"type": "flatten"}), netspec.Layer({"type": "linear"})), MNIST, 10).ok
    assert shape_text((16, 5, 5)) == "16×5×5" and shape_text((400,)) == "400"


def _names_a_layer(problem, layers):
    names = netspec.labels(layers) if isinstance(layers, (list, tuple)) else []
    return problem.label in names + ["the network"] and (
        problem.label.lower() in problem.text.lower() or problem.text.startswith(("layer", "layers", "a network")))


@settings(derandomize=True, deadline=None, max_examples=500)
@given(any_specs())
def test_random_specs_never_raise_and_every_problem_names_a_layer_and_its_fixes_work(layers):
    a = analyse(layers, MNIST, 10)
    assert len(a.problems) >= 1 or a.out_shape == (10,)
    for p in a.problems + a.warnings:
        assert _names_a_layer(p, layers), p
    if a.problems and a.problems[0].fixes:
        for fix in a.problems[0].fixes:
            _gone(layers, fix, a.problems[0])
        for _ in range(30):  # taking the first fix each time ends in a network that trains
            if (a := analyse(layers, MNIST, 10)).ok:
                break
            layers = apply_fix(layers, a.problems[0].fixes[0])
        assert a.ok, a.problems


@settings(derandomize=True, deadline=None, max_examples=100)
@given(st.sampled_from(SHAPES).flatmap(lambda shape: st.tuples(st.just(shape), valid_specs(shape))))
def test_valid_specs_are_valid_and_the_rows_chain(case):
    shape, layers = case
    a = analyse(layers, shape, 10)
    assert a.ok, (netspec.to_text(layers), a.problems)
    assert len(layers) <= 10 and a.out_shape == (10,)
    assert all(r.in_shape == prev.out_shape for prev, r in zip(a.rows, a.rows[1:]))
    assert a.params == sum(r.params for r in a.rows) and a.mult_adds == sum(r.mult_adds for r in a.rows)
    assert netshape.analyse([dict(d) for d in layers], shape, 10) == a


def test_a_flat_input_needs_no_flatten_and_has_no_map():
    assert analyse(from_text("linear_16,relu,linear"), (20,), 3).out_shape == (3,)
    problem = analyse(from_text("conv_4,flatten,linear"), (20,), 3).problems[0]
    assert problem.text == "Conv 1 needs a C×H×W map but gets 20 numbers (the input is flat)"
    assert [f.text for f in problem.fixes] == ["remove Conv 1"]
