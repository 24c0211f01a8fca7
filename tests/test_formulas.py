"""The one sigmoid and softmax (nets.formulas) and the one reader of typed numbers and lists (nets.parse)."""
import numpy as np
import pytest
import torch

from nets.formulas import sigmoid, softmax
from nets.parse import ParseError, float_list, int_list, number


def test_sigmoid_and_softmax_match_torch_and_never_overflow():
    z = np.array([-1000.0, -30.0, -1.5, 0.0, 0.7, 30.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is harmless
        s = sigmoid(z)
        p = softmax(np.stack([z, -z]), axis=1)
    assert np.allclose(s, torch.sigmoid(torch.tensor(z)).numpy(), atol=1e-12)
    assert np.allclose(p, torch.softmax(torch.tensor(np.stack([z, -z])), dim=1).numpy(), atol=1e-12)
    assert sigmoid(0.0) == 0.5 and np.allclose(p.sum(1), 1.0)


@pytest.mark.parametrize("text,expected", [("256,128,64", (256, 128, 64)), ("256 128", (256, 128)),
                                           (" 32; 64 ", (32, 64)), ("(8, 4)", (8, 4)), ("", ())])
def test_int_list_reads_what_people_type(text, expected):
    assert int_list(text) == expected


@pytest.mark.parametrize("text,kwargs,message", [
    ("256,abc", {}, "'abc' is not one"), ("1.5", {}, "'1.5' is not one"), ("0,4", {}, "at least 1; 0 is not"),
    ("5000", {"hi": 4096}, "from 1 to 4,096; 5,000 is not"), ("1,2,3", {"max_items": 2}, "at most 2 numbers"),
    ("", {"allow_empty": False}, "at least one number")])
def test_int_list_says_what_is_wrong(text, kwargs, message):
    with pytest.raises(ParseError, match=message):
        int_list(text, "Hidden sizes", **kwargs)


@pytest.mark.parametrize("text,expected", [("0.95", 0.95), (" -1 ", -1.0), ("1/3", 1 / 3), ("−2", -2.0),
                                           ("1e-3", 0.001), ("70%", 0.7), ("1/4%", 0.0025)])
def test_number_reads_what_people_type(text, expected):
    assert number(text) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("text", ["abc", "1/0", "", "inf", "nan", "1e999", "2,5"])
def test_number_refuses_what_is_not_a_finite_number(text):
    with pytest.raises(ParseError, match=f"x: '{text}' is not a number"):
        number(text, "x")


def test_float_list_reads_lists_and_counts_them():
    assert float_list("0.7, 0.2; 0.1") == (0.7, 0.2, 0.1)
    assert float_list("(1/2 -1)", n=2) == (0.5, -1.0) and float_list("") == ()
    with pytest.raises(ParseError, match="x: type 3 numbers separated by commas; you typed 2"):
        float_list("1, 2", "x", n=3)
    with pytest.raises(ParseError, match="p: 'two' is not a number"):
        float_list("1, two", "p")


def test_the_input_float_type_is_kept():
    z32 = np.array([-3.0, 0.0, 2.0], dtype=np.float32)
    assert sigmoid(z32).dtype == np.float32 and softmax(z32).dtype == np.float32
    assert sigmoid([1, 2]).dtype == np.float64  # whole numbers become floats
