import random
import re

import pytest
from torch import nn

from nets.inspect import anatomy
from nets.inspect.anatomy import (MAX_LAYERS, Question, check_answer, compare, layer_table, make_question,
                                  parse_options, table_for, widget_defaults)
from nets.engine.models import MODELS, ModelError, build_model
from nets.parse import ParseError

FORMULA = re.compile(r"^(?P<expr>[\d·+()/ ]+) = (?P<value>[\d,]+)")


def _evaluate(formula: str) -> tuple[int, int]:
    """(what the written arithmetic gives, the number written after '=')."""
    m = FORMULA.match(formula)
    assert m, formula
    return eval(m["expr"].replace("·", "*")), int(m["value"].replace(",", ""))


def _rows(name, shape=(1, 28, 28), **options):
    return table_for(name, shape, options, num_classes=10)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
@pytest.mark.parametrize("name", list(MODELS))
def test_every_formula_adds_up_to_the_real_parameter_count(name, shape):
    model = build_model(name, shape, 10)
    rows = layer_table(model, shape)
    assert sum(r["params"] for r in rows) == sum(p.numel() for p in model.parameters())
    for r in rows:
        if r["params"] == 0:
            assert r["formula"].startswith("—"), r
        else:
            written, stated = _evaluate(r["formula"])
            assert written == stated == r["params"], r


@pytest.mark.parametrize("name,options", [("mlp", {"batch_norm": True, "hidden": (64, 32)}),
                                          ("lenet", {"batch_norm": True}),
                                          ("cnn5", {"batch_norm": True}), ("resnet18", {"small_stem": False})])
def test_formulas_hold_with_batch_norm_and_big_stem(name, options):
    for r in _rows(name, (3, 32, 32), **options):
        if r["params"]:
            assert _evaluate(r["formula"])[1] == r["params"], r


def test_lenet_rows_in_lecture_notation():
    rows = {r["layer"]: r for r in _rows("lenet")}
    assert rows["0"]["formula"] == "(5·5·1+1)·10 = 260"
    assert rows["0"]["details"] == "5×5, 1→10"
    assert rows["0"]["size formula"] == "(28 − 5 + 2·0)/1 + 1 = 24"
    assert rows["1"]["size formula"] == "(24 − 2 + 2·0)/2 + 1 = 12"
    assert rows["3"]["formula"] == "(5·5·10+1)·20 = 5,020"
    assert rows["7"]["size formula"] == "20·4·4 = 320"
    assert rows["8"]["formula"] == "(320+1)·10 = 3,210"
    assert rows["2"]["formula"] == "—" and rows["2"]["size formula"] == "same as input"
    assert [r["mult-adds"] for r in rows.values() if r["mult-adds"]] == [144_000, 320_000, 3_200]


def test_batch_norm_conv_without_bias_and_big_stem():
    rows = {r["layer"]: r for r in _rows("resnet18", (3, 64, 64), small_stem=False)}
    assert rows["layer1.0.conv1"]["formula"] == "3·3·64·64 = 36,864"
    assert rows["bn1"]["formula"].startswith("2·64 = 128") and "buffers, not parameters" in rows["bn1"]["formula"]
    # 7×7 stride 2 pad 3 on 64 px: 63/2 does not divide, so the floor is written out.
    assert rows["conv1"]["size formula"] == "⌊(64 − 7 + 2·3)/2⌋ + 1 = 32"
    assert rows["maxpool"]["size formula"] == "⌊(32 − 3 + 2·1)/2⌋ + 1 = 16"
    assert rows["avgpool"]["size formula"].startswith("fixed by the layer: 1×1")
    assert rows["layer2.0.conv1"]["size formula"] == "⌊(16 − 3 + 2·1)/2⌋ + 1 = 8"


def test_size_formulas_agree_with_the_real_output_sizes():
    for name, shape, options in [("lenet", (1, 28, 28), {}), ("cnn5", (3, 32, 32), {}),
                                 ("resnet34", (3, 64, 64), {"small_stem": False})]:
        for r in _rows(name, shape, **options):
            if r["type"] in ("Conv2d", "MaxPool2d"):
                assert int(r["size formula"].rsplit("= ", 1)[1]) == int(r["output size"].split("×")[1]), r


def test_grouped_dilated_and_asymmetric_convolutions():
    model = nn.Sequential(nn.Conv2d(4, 8, 3, groups=2, padding=1), nn.Conv2d(8, 8, (3, 5), dilation=2),
                          nn.AvgPool2d(3, stride=2), nn.Flatten(), nn.PReLU())
    rows = layer_table(model, (4, 20, 20))
    assert rows[0]["formula"].startswith("(3·3·2+1)·8 = 152") and "groups=2" in rows[0]["formula"]
    assert rows[1]["size formula"] == "H: (20 − 5 + 2·0)/1 + 1 = 16; W: (20 − 9 + 2·0)/1 + 1 = 12"
    assert rows[1]["output size"] == "8×16×12"
    assert rows[2]["size formula"] == "H: ⌊(16 − 3 + 2·0)/2⌋ + 1 = 7; W: ⌊(12 − 3 + 2·0)/2⌋ + 1 = 5"
    assert rows[2]["output size"] == "8×7×5"
    assert _evaluate(rows[4]["formula"]) == (1, 1)  # PReLU: the fallback still adds up


def test_gated_conv_gate_is_explained():
    rows = {r["layer"]: r for r in _rows("gated-cnn", (3, 32, 32))}
    assert rows["0.gate"]["formula"] == "(3+1)·2 = 8" and "gate" in rows["0.gate"]["details"]
    assert rows["0.branch_a"]["formula"] == "(5·5·3+1)·32 = 2,432"


def test_model_that_cannot_run_is_a_model_error():
    with pytest.raises(ModelError, match="cannot run on a 4 input"):
        layer_table(nn.Linear(5, 3), (4,))
    with pytest.raises(ModelError, match="at least 12×12"):
        table_for("lenet", (1, 8, 8), {}, num_classes=10)


def test_options_from_widgets():
    assert parse_options("mlp", {"hidden": " 256, 128 ,64"}) == {"hidden": (256, 128, 64)}
    assert parse_options("mlp", {"hidden": "256 128"}) == {"hidden": (256, 128)}  # as the Train page reads it
    assert parse_options("cnn5", {"fc": ""}) == {"fc": ()}
    for bad in ("12,x", "0", "1.5", "100000", ",".join(["8"] * (MAX_LAYERS + 1))):
        with pytest.raises(ParseError, match="Hidden sizes"):
            parse_options("mlp", {"hidden": bad})
    assert widget_defaults("cnn5")["channels"] == "32,64"
    assert widget_defaults("resnet18") == {"small_stem": "auto", "dropout": 0.0}
    assert parse_options("resnet18", {"small_stem": "imagenet"}) == {"small_stem": False}
    assert parse_options("mlp", {"hidden": "784", "batch_norm": True}) == {"hidden": (784,), "batch_norm": True}
    with pytest.raises(ModelError, match="Unknown model"):
        parse_options("vgg", {})


def test_compare_mlp_with_lenet_on_mnist():
    c = compare((1, 28, 28), {"hidden": (128,)}, {}, "lenet", num_classes=10)
    assert (c.mlp.label, c.mlp.total_params, c.cnn.total_params) == ("mlp 784-128-10", 101_770, 8_490)
    assert c.mlp.largest_layer == "1 (Linear 784→128): 100,480"
    assert c.cnn.largest_layer == "3 (Conv2d 5×5, 10→20): 5,020"
    assert (c.mlp.mult_adds, c.cnn.mult_adds) == (784 * 128 + 128 * 10, 467_200)
    assert "12× fewer" in c.why and "weight sharing" in c.why and "local connectivity" in c.why
    assert "4.6× more multiply-adds" in c.compute


def test_compare_when_the_cnn_is_the_bigger_one():
    c = anatomy.comparison_for("cnn5", (3, 32, 32), {}, num_classes=10)
    assert (c.mlp.label, c.cnn.total_params) == ("mlp 3072-128-10", 497_738)
    assert c.why.startswith("Here cnn5 has more parameters") and "weight sharing" in c.why


LENET_CONV1 = Question("0", "params", "?", 260, "(5·5·1+1)·10 = 260", bias_count=10)
LENET_CONV1_OUT = Question("0", "output", "?", (10, 24, 24), "Each side: (28 − 5 + 2·0)/1 + 1 = 24")
LENET_FLAT = Question("7", "output", "?", (320,), "Flatten lines up every value: 20·4·4 = 320.")


@pytest.mark.parametrize("text", ["260", " 260 ", "260 params", "260 parameters", "260params"])
def test_param_answers_accepted(text):
    assert check_answer(LENET_CONV1, text)[0]


@pytest.mark.parametrize("text", ["10×24×24", "10x24x24", "(10, 24, 24)", " 10 × 24 × 24 ", "[10,24,24]"])
def test_size_answers_accepted(text):
    ok, feedback = check_answer(LENET_CONV1_OUT, text)
    assert ok and feedback.startswith("Correct: 10×24×24")


def test_wrong_answers_explain_the_formula():
    ok, feedback = check_answer(LENET_CONV1, "200")
    assert not ok and "(5·5·1+1)·10 = 260" in feedback and "biases" not in feedback
    ok, feedback = check_answer(LENET_CONV1_OUT, "10x28x28")
    assert not ok and "(28 − 5 + 2·0)/1 + 1 = 24" in feedback and "10×28×28" in feedback
    assert not check_answer(LENET_CONV1_OUT, "24x24")[0]
    assert not check_answer(LENET_CONV1_OUT, "(10, 24, 24, 1)")[0]


def test_forgotten_biases_get_a_hint():
    ok, feedback = check_answer(LENET_CONV1, "250 params")  # 5·5·1·10: weights only
    assert not ok and "left out the biases" in feedback and "= 260" in feedback
    no_bias = Question("0", "params", "?", 36_864, "3·3·64·64 = 36,864")
    assert "biases" not in check_answer(no_bias, "36,800")[1]


def test_unreadable_answers_are_not_revealed():
    ok, feedback = check_answer(LENET_CONV1, "lots")
    assert not ok and "260" not in feedback
    ok, feedback = check_answer(LENET_CONV1_OUT, "ten by 24")
    assert not ok and "24 + 1" not in feedback


def test_flattened_sizes_accept_thousand_separators():
    big = Question("4", "output", "?", (1600,), "")
    assert check_answer(big, "1,600")[0] and check_answer(big, "(1600,)")[0]
    assert check_answer(LENET_FLAT, "320")[0]


def test_questions_come_from_the_table_and_check_against_it():
    rows = _rows("lenet")
    seen = set()
    for seed in range(40):
        q = make_question(rows, random.Random(seed))
        row = next(r for r in rows if r["layer"] == q.layer)
        seen.add((q.layer, q.kind))
        assert row["input size"] in q.prompt and row["details"] in q.prompt
        if q.kind == "params":
            assert q.answer == row["params"] and q.formula == row["formula"]
        else:
            assert q.answer_text == row["output size"]
        assert check_answer(q, q.answer_text)[0]
        assert check_answer(q, str(q.answer_text).replace("×", "x"))[0]
    # Parameter-free layers are only asked about when they change the size.
    assert {k for _, k in seen} == {"params", "output"}
    assert not {layer for layer, _ in seen} & {"2", "4", "6"}
    assert ("1", "params") not in seen
