"""Convolution arithmetic against hand-worked values, the coursework's Inception example included."""
import math
import random

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nets.calculators import conv_arithmetic as cc
from nets.calculators import conv_chain as chains
from nets.calculators import conv_quiz as cq
from nets.calculators.conv_arithmetic import SAME, Conv, ConvError, Pool


@pytest.mark.parametrize("W, K, P, S, out", [
    (28, 5, 2, 1, 28),     # same padding keeps the size
    (32, 5, 0, 1, 28),     # LeNet's first layer: 27/1 + 1
    (227, 11, 0, 4, 55),   # AlexNet's first layer: 216/4 + 1
    (28, 2, 0, 2, 14),     # a 2×2 pool halves
    (7, 7, 0, 1, 1),       # the kernel covers the whole input once
])
def test_output_size(W, K, P, S, out):
    assert cc.conv_output(W, K, P, S) == out


def test_fractional_size_is_an_error_with_the_exact_value():
    with pytest.raises(ConvError) as e:
        cc.conv_output(28, 5, 1, 2)  # 25/2 + 1
    msg = str(e.value)
    assert msg.startswith("Not a whole number: (28 − 5 + 2·1)/2 + 1 = 13.5.")
    assert "floor it to 13" in msg and "last 1 padded pixel(s)" in msg
    tex = cc.output_latex(28, 5, 1, 2)
    assert r"\frac{28 - 5 + 2\cdot 1}{2} + 1 = \frac{25}{2} + 1 = 13.5" in tex and "not a whole number" in tex


def test_a_repeating_fraction_is_shown_as_such():
    with pytest.raises(ConvError, match=r"\(7 − 3 \+ 2·0\)/3 \+ 1 = 2\.333…. .*floor it to 2.*last 1 padded"):
        cc.conv_output(7, 3, 0, 3)  # 4/3 + 1


@pytest.mark.parametrize("args, text", [
    ((3, 5, 0, 1), "does not fit: the padded input is W + 2P = 3 + 2·0 = 3 wide, smaller than K = 5"),
    ((28, 0, 0, 1), "K must be at least 1, not 0"),
    ((28, 3, 0, 0), "S must be at least 1, not 0"),
    ((28, 3, -1, 1), "P must be at least 0, not -1"),
    ((28.5, 3, 0, 1), "W must be a whole number, not 28.5"),
    ((28, True, 0, 1), "K must be a whole number"),
])
def test_bad_layers_are_explained(args, text):
    with pytest.raises(ConvError, match=text.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        cc.conv_output(*args)


def test_same_padding():
    assert [cc.same_padding(k) for k in (1, 3, 5, 7)] == [0, 1, 2, 3]
    with pytest.raises(ConvError, match="odd kernel: P = .K − 1./2 = 3/2"):
        cc.same_padding(4)
    with pytest.raises(ConvError, match="only with stride 1, not S = 2"):
        cc.same_padding(3, 2)


def test_parameters_and_multiply_adds():
    assert cc.conv_params(5, 192, 32) == 153_632          # (5·5·192 + 1)·32 = 4,801·32
    assert cc.conv_params(5, 192, 32, bias=False) == 153_600
    assert cc.conv_params(3, 3, 64) == 1_792              # VGG's first layer: 28·64
    assert cc.mult_adds(28, 28, 5, 192, 32) == 120_422_400
    assert cc.mult_adds(28, 28, 1, 192, 16) == 2_408_448
    assert cc.params_latex(5, 192, 32).endswith(
        r"= (5\cdot 5\cdot 192 + 1)\cdot 32 = 4{,}801\cdot 32 = 153{,}632")
    assert cc.params_latex(5, 192, 32, bias=False).endswith(r"= 5\cdot 5\cdot 192\cdot 32 = 153{,}600")
    assert cc.mult_adds_latex(28, 28, 5, 192, 32).endswith(
        r"= 28\cdot 28\cdot 5\cdot 5\cdot 192\cdot 32 = 120{,}422{,}400")


def test_parameters_match_torch():
    for K, c_in, c_out in [(5, 192, 32), (1, 192, 16), (3, 1, 6)]:
        real = sum(p.numel() for p in torch.nn.Conv2d(c_in, c_out, K).parameters())
        assert cc.conv_params(K, c_in, c_out) == real


@settings(max_examples=40, deadline=None)
@given(W=st.integers(1, 40), K=st.integers(1, 7), P=st.integers(0, 3), S=st.integers(1, 4))
def test_size_is_torchs_when_whole_and_an_error_when_torch_floors(W, K, P, S):
    if K > W + 2 * P:
        return
    out = torch.nn.functional.conv2d(torch.zeros(1, 1, W, W), torch.zeros(1, 1, K, K), padding=P, stride=S)
    if (W - K + 2 * P) % S == 0:
        assert cc.conv_output(W, K, P, S) == out.shape[-1]
    else:
        with pytest.raises(ConvError, match=f"floor it to {out.shape[-1]},"):
            cc.conv_output(W, K, P, S)


def test_inception_example_reproduces_the_coursework():
    ex = chains.inception_example()
    (direct,) = ex.direct.steps
    assert direct.shape_out == (28, 28, 32) and (direct.params, direct.mult_adds) == (153_632, 120_422_400)
    one, five = ex.bottleneck.steps
    assert one.shape_out == (28, 28, 16) and (one.params, one.mult_adds) == (3_088, 2_408_448)
    assert five.shape_out == (28, 28, 32) and (five.params, five.mult_adds) == (12_832, 10_035_200)
    assert (ex.bottleneck.params, ex.bottleneck.mult_adds) == (15_920, 12_443_648)
    assert round(ex.saving, 1) == 9.7 and round(ex.param_saving, 2) == 9.65
    assert "3,088 + 12,832 = 15,920 parameters instead of 153,632" in ex.summary
    assert five.short_latex == (r"\text{params} = (5\cdot 5\cdot 16 + 1)\cdot 32 = 401\cdot 32 = 12{,}832",
                                r"\text{mult-adds} = 28\cdot 28\cdot 5\cdot 5\cdot 16\cdot 32 = 10{,}035{,}200")
    assert "about 12.4 million" in ex.summary and "about 120.4 million" in ex.summary
    assert ex.output_shape == (28, 28, 32) and ex.titles[1].startswith("1×1 to 16 channels")


def test_lenet_chain():
    c = chains.chain(chains.LENET_INPUT, chains.layers_from_rows(chains.LENET_ROWS))
    assert c.error is None
    assert [s.shape_out for s in c.steps] == [(28, 28, 6), (14, 14, 6), (10, 10, 16), (5, 5, 16)]
    assert [s.params for s in c.steps] == [156, 0, 2_416, 0]          # (25+1)·6, (150+1)·16
    assert [s.mult_adds for s in c.steps] == [117_600, 0, 240_000, 0]  # 784·25·6, 100·150·16
    assert (c.params, c.mult_adds) == (2_572, 357_600)
    assert chains.chain_table(c).iloc[1].to_dict() == {"layer": "2: max pool 2×2, S=2", "input": "28×28×6",
                                                        "output": "14×14×6", "params": 0, "mult-adds": 0}
    assert c.total_text == "Total: 2,572 parameters, 357,600 multiply-adds (about 357.6 thousand)."
    assert list(chains.chain_table(chains.Chain(())).columns) == ["layer", "input", "output", "params", "mult-adds"]
    assert "pooling keeps the }6" in c.steps[1].latex[-1]


def test_chain_stops_at_the_first_failing_layer():
    c = chains.chain((28, 28, 1), [Conv(5, 6), Pool(2), Conv(5, 16, S=2), Pool(2)])
    assert [s.shape_out for s in c.steps] == [(24, 24, 6), (12, 12, 6)]
    assert c.error.startswith("Layer 3 (conv 5×5, 16 filters, S=2, P=0) on a 12×12×6 input: "
                              "Not a whole number: (12 − 5 + 2·0)/2 + 1 = 4.5.")
    assert chains.chain((0, 28, 1), [Conv(3, 4)]).error == "Input: H must be at least 1, not 0."


def test_non_square_input_and_same_padding_in_a_chain():
    c = chains.chain((32, 28, 3), [Conv(5, 8, P=SAME), Pool(2, kind="avg pool")])
    assert [s.shape_out for s in c.steps] == [(32, 28, 8), (16, 14, 8)]
    assert c.steps[0].latex[0].startswith(r"H_{out} = \frac{H - K + 2P}{S} + 1 = \frac{32 - 5 + 2\cdot 2}")
    assert c.steps[0].latex[1].startswith(r"W_{out} = \frac{W - K + 2P}{S} + 1 = \frac{28 - 5 + 2\cdot 2}")
    assert c.steps[0].mult_adds == 32 * 28 * 5 * 5 * 3 * 8


def test_layers_from_editor_rows():
    rows = [{"type": "conv", "K": np.int64(3), "S": np.nan, "P": " Same ", "C_out": 8.0},
            {"type": "max pool", "K": 3.0, "S": np.nan, "P": None, "C_out": np.nan},
            {"type": None, "K": np.nan, "S": np.nan, "P": None, "C_out": np.nan}]  # just added, empty
    assert chains.layers_from_rows(rows) == [Conv(3, 8, 1, SAME), Pool(3, 3, 0, "max pool")]


@pytest.mark.parametrize("row, text", [
    ({"type": "dense", "K": 3}, "Row 1: type must be one of conv, max pool, avg pool, not 'dense'."),
    ({"type": "conv", "K": 3, "P": "0"}, "Row 1: C_out is empty."),
    ({"type": "conv", "K": 3, "P": "two", "C_out": 4}, "Row 1: P must be a number, not 'two'."),
    ({"type": "conv", "K": 2.5, "C_out": 4}, "Row 1: K must be a whole number, not 2.5."),
])
def test_bad_editor_rows(row, text):
    c = chains.chain_from_rows((28, 28, 1), [row])
    assert c.steps == () and c.error == text


def test_single_layer_calculator():
    calc = cc.single_layer(28, 5, 0, 1, 192, 32, same=True)
    assert calc.error is None and calc.step.params == 153_632 and calc.step.shape_out == (28, 28, 32)
    bad = cc.single_layer(28, 5, 1, 2, 192, 32)
    assert bad.step is None and bad.error.startswith("Not a whole number") and "13.5" in bad.size_latex
    assert cc.single_layer(28, 4, 0, 1, 3, 8, same=True).size_latex is None
    assert cc.single_layer(**cc.WORKED_LAYER).step.params == 153_632  # the form starts on the worked example
    assert cc.single_layer(28, 5, 2, 1, 0, 32).error == "C_in must be at least 1, not 0."


@pytest.mark.parametrize("text, value", [
    ("120,422,400", 120_422_400), ("120 422 400", 120_422_400), ("1.2e8", 1.2e8), ("1.2 × 10^8", 1.2e8),
    ("120.4 million", 120.4e6), ("12.4M", 12.4e6), ("153,632 params", 153_632), ("28", 28),
    ("lots", None), ("", None), ("1.2 zillion", None),
])
def test_parse_number(text, value):
    assert cq.parse_number(text) == value


def test_quiz_checks_multiply_adds_within_one_percent():
    q = cq.question("mult-adds", 28, 5, 2, 1, 192, 32)
    assert q.answer == 120_422_400 and q.latex.endswith("120{,}422{,}400")
    for right in ("120,422,400", "1.2e8", "120.4 million"):
        assert cq.check_answer(q, right) == (True, "Correct: 120,422,400 (120.4 million).")
    ok, text = cq.check_answer(q, "1.1e8")  # 8.7% off
    assert not ok and text == "Not quite: you said 110,000,000; the answer is 120,422,400."
    assert cq.check_answer(q, "many")[1].startswith("I could not read 'many'")


def test_quiz_is_exact_for_sizes_and_parameters_and_names_common_slips():
    q = cq.question("params", 28, 5, 2, 1, 192, 32)
    assert cq.check_answer(q, "153,632")[0] and not cq.check_answer(q, "153,633")[0]
    assert "left out the biases" in cq.check_answer(q, "153600")[1]
    q = cq.question("size", 28, 5, 2, 1, 192, 32)
    assert cq.check_answer(q, "28")[0]
    assert "+ 1" in cq.check_answer(q, "27")[1]
    q = cq.question("mult-adds", 28, 4, 1, 2, 3, 8)  # 26/2 + 1 = 14 per side
    assert q.answer == 14 * 14 * 4 * 4 * 3 * 8
    assert "input width 28" in cq.check_answer(q, str(28 * 28 * 4 * 4 * 3 * 8))[1]


def test_random_questions_are_whole_and_varied():
    questions = [cq.make_question(random.Random(seed)) for seed in range(60)]
    assert {q.kind for q in questions} == set(cq.QUIZ_KINDS)
    for q in questions:
        side = (q.W - q.K + 2 * q.P) / q.S + 1
        assert side == int(side) and str(q.W) in q.prompt
        expected = {"size": side, "params": (q.K * q.K * q.C_in + 1) * q.C_out,
                    "mult-adds": side * side * q.K * q.K * q.C_in * q.C_out}[q.kind]
        assert q.answer == expected and math.isfinite(q.answer)


def test_a_pool_row_without_a_stride_strides_by_its_size():
    (pool,) = chains.layers_from_rows([{"type": "max pool", "K": 2, "S": None, "P": None}])
    assert (pool.K, pool.S) == (2, 2)
