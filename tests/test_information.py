"""Entropy, cross-entropy and KL against hand-worked values; zeros never crash or give NaN."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nets.calculators import entropy as info
from nets.calculators.entropy import InfoError

P, Q = (0.7, 0.2, 0.1), (0.5, 0.3, 0.2)
# By hand, in nats: H(p) = 0.7·0.356675 + 0.2·1.609438 + 0.1·2.302585 = 0.801819
# H(p, q) = 0.7·ln 2 + 0.2·ln(10/3) + 0.1·ln 5 = 0.485203 + 0.240795 + 0.160944 = 0.886941
# KL = 0.7·ln 1.4 + 0.2·ln(2/3) + 0.1·ln 0.5 = 0.235531 − 0.081093 − 0.069315 = 0.085123
H_P, H_PQ, KL_PQ = 0.801819, 0.886941, 0.085123


def test_normalise():
    assert info.normalise([7, 2, 1]) == pytest.approx(P)
    assert info.normalise("0.7, 0.2, 0.1") == pytest.approx(P)
    assert info.normalise("1/3; 1/3 1/3") == pytest.approx((1 / 3,) * 3)
    assert info.normalise("70%, 30%") == pytest.approx((0.7, 0.3))


@pytest.mark.parametrize("values, text", [
    ([0, 0, 0], "all zero"), ([0.5, -0.1, 0.6], "cannot be negative: -0.1"), ([1.0], "2 to 10 classes, not 1"),
    ([1] * 11, "not 11"), ([1, math.inf], "finite"), ([1, math.nan], "finite"),
    ("0.5, abc", "'abc' is not a number"), ("  ", "separated by commas"),
])
def test_normalise_refuses_what_cannot_be_a_distribution(values, text):
    with pytest.raises(InfoError, match=f"^p: .*{text}"):
        info.normalise(values, "p")


def test_results_by_name_and_in_running_text():
    ident = info.identity_check(P, Q)
    assert list(ident.results()) == list(info.QUANTITIES) and ident.results()["KL(p‖q)"] is ident.kl
    assert ident.sum_text == "0.8018 + 0.0851 = 0.8869"
    assert info.value_text(math.inf) == "∞" and set(info.CURVES) == set(info.QUANTITIES)
    assert info.default_texts() == ("0.7, 0.2, 0.1", "0.5, 0.3, 0.2")
    assert info.normalise(info.default_texts(4)[0]) == pytest.approx(info.normalise(info.default_weights(4)[0]))


def test_hand_worked_values_in_nats():
    assert info.entropy(P).value == pytest.approx(H_P, abs=1e-6)
    assert info.cross_entropy(P, Q).value == pytest.approx(H_PQ, abs=1e-6)
    assert info.kl(P, Q).value == pytest.approx(KL_PQ, abs=1e-6)
    assert info.cross_entropy(P, Q).terms == pytest.approx((0.485203, 0.240795, 0.160944), abs=1e-6)


def test_hand_worked_values_in_bits():
    assert info.entropy((0.5, 0.5), "bits").value == pytest.approx(1)
    assert info.entropy((0.25,) * 4, "bits").value == pytest.approx(2)
    # H(p, q) = 0.5·log2 4 + 0.5·log2(4/3) = 1 + 0.207519; KL is the extra 0.207519
    assert info.cross_entropy((0.5, 0.5), (0.25, 0.75), "bits").value == pytest.approx(1.207519, abs=1e-6)
    assert info.kl((0.5, 0.5), (0.25, 0.75), "bits").value == pytest.approx(0.207519, abs=1e-6)
    # not symmetric: KL(q‖p) = 0.25·log2 0.5 + 0.75·log2 1.5 = 0.188722
    assert info.kl((0.25, 0.75), (0.5, 0.5), "bits").value == pytest.approx(0.188722, abs=1e-6)


def test_latex_shows_every_term_with_the_numbers():
    assert info.entropy(P).latex.endswith(
        r"-\left(0.7 \ln 0.7 + 0.2 \ln 0.2 + 0.1 \ln 0.1\right) = -\left(-0.2497 - 0.3219 - 0.2303\right)"
        r" = 0.8018\ \text{nats}")
    assert r"-\left(0.7 \ln 0.5 + 0.2 \ln 0.3 + 0.1 \ln 0.2\right) = -\left(-0.4852 - 0.2408 - 0.1609\right)" \
           r" = 0.8869\ \text{nats}" in info.cross_entropy(P, Q).latex
    assert info.kl(P, Q).latex.endswith(r"= 0.2355 - 0.0811 - 0.0693 = 0.0851\ \text{nats}")
    assert r"0.5 \log_2 0.25" in info.cross_entropy((0.5, 0.5), (0.25, 0.75), "bits").latex
    assert info.pair_latex(P, Q) == r"p = (0.7, 0.2, 0.1),\quad q = (0.5, 0.3, 0.2)"


def test_identity_holds_with_the_numbers():
    ident = info.identity_check(P, Q)
    assert ident.holds and ident.note is None
    assert ident.latex.endswith(r"0.8869 = 0.8018 + 0.0851")


def test_zero_log_zero_is_zero():
    h = info.entropy((1.0, 0.0))
    assert h.value == 0 and h.note == "0·log 0 counts as 0."
    assert "-0.0000" not in h.latex
    # p never needs class 3, so q's zero there costs nothing
    ident = info.identity_check((0.5, 0.5, 0.0), (0.5, 0.5, 0.0))
    assert ident.ce.value == pytest.approx(math.log(2)) and ident.kl.value == 0 and ident.note is None


def test_q_zero_where_p_needs_it_is_infinite_with_an_explanation():
    q = (0.5, 0.5, 0.0)
    ce, kl = info.cross_entropy(P, q), info.kl(P, q)
    assert ce.value == math.inf and kl.value == math.inf and not math.isnan(ce.value + kl.value)
    assert ce.note.startswith("q gives probability 0 to class 3 (p = 0.1), which p says can happen.")
    assert "log-softmax" in ce.note
    assert ce.latex.endswith(r"-\left(-0.4852 - 0.1386 - \infty\right) = \infty\ \text{nats}")
    ident = info.identity_check(P, q)
    assert ident.holds and ident.latex.endswith(r"\infty = 0.8018 + \infty")


def test_p_and_q_must_match():
    with pytest.raises(InfoError, match="p has 3 classes but q has 2"):
        info.cross_entropy(P, (0.5, 0.5))
    with pytest.raises(InfoError, match="sum to 1"):
        info.kl((0.7, 0.7), (0.5, 0.5))


def test_binary_one_hot_loss_is_the_kl_divergence():
    b = info.binary(0.25, unit="bits")  # −log2 0.25 = 2
    assert b.h.value == 0 and b.ce.value == pytest.approx(2) and b.kl.value == pytest.approx(2)
    zero = info.binary(0.0)
    assert zero.ce.value == math.inf and "class 1 (p = 1)" in zero.note
    # a soft label: the gap is H(0.9, 0.1) = 0.094824 + 0.230259 = 0.325083 nats, whatever q is
    soft = info.binary(0.8, p_true=0.9)
    assert soft.ce.value - soft.kl.value == pytest.approx(0.325083, abs=1e-6)


def test_binary_curves():
    one_hot = info.binary_curves(1.0, n=100)
    ce = one_hot[one_hot.quantity == "H(p, q)"]
    assert len(ce) == 100 and ce.nats.to_numpy() == pytest.approx(-np.log(ce.q_true))
    kl = one_hot[one_hot.quantity == "KL(p‖q)"]
    assert kl.nats.to_numpy() == pytest.approx(ce.nats.to_numpy())
    soft = info.binary_curves(0.9, n=100)
    assert len(soft[soft.quantity == "H(p, q)"]) == 99  # q = 1 leaves class 2 at zero: off the chart
    wide = soft.pivot(index="q_true", columns="quantity", values="nats").dropna()
    assert (wide["H(p, q)"] - wide["KL(p‖q)"]).to_numpy() == pytest.approx(0.325083, abs=1e-6)
    assert wide["H(p, q)"].idxmin() == pytest.approx(0.9) and wide["KL(p‖q)"].idxmin() == pytest.approx(0.9)
    assert soft.notna().all().all()


def test_table_columns_sum_to_the_three_quantities():
    t = info.table(P, Q)
    assert list(t["class"]) == [1, 2, 3]
    sums = t[["−p_i log p_i", "−p_i log q_i", "p_i log(p_i/q_i)"]].sum().to_numpy()
    assert sums == pytest.approx((H_P, H_PQ, KL_PQ), abs=1e-6)
    assert info.bar_data(P, Q).probability.sum() == pytest.approx(2)


def test_default_weights():
    assert info.default_weights(3) == (P, Q)
    for k in range(2, 7):
        p, q = info.default_weights(k)
        assert len(p) == len(q) == k and all(0 <= x <= 1 for x in p + q)


def test_predictions_are_checked_before_the_reveal():
    ident = info.identity_check(P, Q)
    assert info.check_prediction(ident, "H(p, q)", "0.887") == (True, "Correct: H(p, q) = 0.8869 nats.")
    ok, text = info.check_prediction(ident, "KL(p‖q)", "0.2")
    assert not ok and text == "Not quite: you said 0.2; KL(p‖q) = 0.0851 nats."
    assert "in bits" in info.check_prediction(ident, "H(p, q)", "1.28")[1]  # 0.886941 / ln 2 = 1.27959
    assert info.check_prediction(ident, "H(p)", "nope")[1].startswith("I could not read 'nope'")
    inf = info.identity_check(P, (0.5, 0.5, 0.0))
    assert info.check_prediction(inf, "H(p, q)", "∞")[0] and not info.check_prediction(inf, "H(p, q)", "5")[0]


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6).flatmap(lambda k: st.tuples(*[st.lists(st.floats(0, 1), min_size=k, max_size=k)] * 2)))
def test_identity_and_bounds_for_any_distributions(pq):
    p_raw, q_raw = pq
    if sum(p_raw) == 0 or sum(q_raw) == 0:
        return
    p, q = info.normalise(p_raw), info.normalise(q_raw)
    ident = info.identity_check(p, q)
    assert ident.holds
    assert not any(math.isnan(r.value) for r in (ident.h, ident.ce, ident.kl))
    assert ident.kl.value >= -1e-12 and ident.h.value <= math.log(len(p)) + 1e-12


def test_a_tiny_q_is_large_not_infinite():
    # found by hypothesis: p/q overflowed to ∞ while −log q is a finite 715 nats
    ident = info.identity_check((0.0, 1.0), (1.0, 2.225073858507e-311))
    assert ident.kl.value == pytest.approx(715.30, abs=0.01) and ident.holds and ident.note is None
