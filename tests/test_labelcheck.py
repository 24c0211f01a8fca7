"""nets.datalab.labelcheck: precision/recall on constructed cases (empty ones included), cleanlab's flags
on constructed probabilities, the LabelCheck's views, label-issues.npz saved and read back."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from nets.datalab import labelcheck
from nets.datalab.labelcheck import LabelCheck, find, load, precision_recall, save
from nets.engine.data import DatasetError


@pytest.mark.parametrize("flagged, flipped, expected", [
    ([1, 1, 0, 0, 1], [1, 0, 1, 0, 1], (2 / 3, 2 / 3)),   # two hits, one false flag, one missed flip
    ([1, 0, 0, 0], [1, 1, 1, 1], (1.0, 0.25)),            # every flag right, most flips missed
    ([1, 1, 1, 1], [1, 0, 0, 0], (0.25, 1.0)),            # every flip found among many false flags
    ([0, 0, 0], [0, 0, 0], (1.0, 1.0)),                   # nothing flagged, nothing flipped: no wrong answer
    ([0, 0, 0], [0, 1, 1], (1.0, 0.0)),                   # nothing flagged: no flag is wrong, every flip missed
    ([0, 1, 1], [0, 0, 0], (0.0, 1.0)),                   # flags on a clean set: all wrong, nothing to miss
    ([], [], (1.0, 1.0)),
])
def test_precision_recall_on_constructed_cases(flagged, flipped, expected):
    assert precision_recall(np.array(flagged, bool), np.array(flipped, bool)) == pytest.approx(expected)


def test_precision_recall_refuses_arrays_of_different_lengths():
    with pytest.raises(ValueError, match="must match"):
        precision_recall(np.ones(3, bool), np.ones(4, bool))


def _confident(n=300, c=4, flips=30, seed=0):
    """Probabilities 0.85 on each image's true class; `flips` given labels moved to another class."""
    rng = np.random.default_rng(seed)
    true = np.arange(n) % c
    probs = np.full((n, c), 0.15 / (c - 1))
    probs[np.arange(n), true] = 0.85
    labels = true.copy()
    wrong = rng.choice(n, flips, replace=False)
    labels[wrong] = (true[wrong] + rng.integers(1, c, flips)) % c
    return labels, probs, true


def test_cleanlab_flags_exactly_the_labels_the_probabilities_contradict():
    labels, probs, true = _confident()
    flagged = find(labels, probs)
    assert flagged.dtype == bool and flagged.shape == labels.shape
    assert precision_recall(flagged, labels != true) == (1.0, 1.0)
    assert not find(true, probs).any()            # right labels: no flags
    assert find(np.zeros(0, int), np.zeros((0, 4))).shape == (0,)


def test_without_cleanlab_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "cleanlab.filter", None)   # import fails
    with pytest.raises(DatasetError, match="pip install cleanlab"):
        find(np.array([0, 1]), np.eye(2))


def _check(true=True) -> LabelCheck:
    labels, probs, t = _confident(n=40, flips=6)
    return LabelCheck(labels, probs.astype(np.float32), find(labels, probs), t if true else None, 5,
                      np.arange(100, 140))


def test_the_check_shows_suggested_labels_confidence_and_the_likeliest_wrong_first():
    check = _check()
    assert (check.suggested == check.true).all()
    assert check.self_confidence[check.flipped] == pytest.approx(0.05)
    ranked = check.ranked()
    assert set(ranked) == set(np.flatnonzero(check.flagged))
    assert (np.diff(check.self_confidence[ranked]) >= 0).all()
    assert check.precision_recall() == (1.0, 1.0)
    assert "6 of 40 labels flagged (15.0%) by 5-fold" in check.summary() and "precision 100%" in check.summary()
    unknown = _check(true=False)
    assert unknown.flipped is None and unknown.precision_recall() is None
    assert "nobody knows" in unknown.summary()


@pytest.mark.parametrize("true", [True, False])
def test_saved_and_read_back_unchanged(tmp_path, true):
    check = _check(true)
    path = save(tmp_path, check)
    assert path == tmp_path / labelcheck.FILE
    back = load(tmp_path)
    for name in ("labels", "probs", "flagged", "index"):
        assert np.array_equal(getattr(back, name), getattr(check, name)), name
    assert back.k == 5 and (back.true is None) == (not true)
    if true:
        assert np.array_equal(back.true, check.true)
    assert load(tmp_path / "elsewhere") is None


def test_a_file_that_is_no_check_is_refused_in_words(tmp_path):
    (tmp_path / labelcheck.FILE).write_bytes(b"not an npz")
    with pytest.raises(DatasetError, match="not a saved label check"):
        load(tmp_path)
    np.savez(tmp_path / "short.npz", labels=np.zeros(3, int), probs=np.zeros((2, 2), np.float32),
             flagged=np.zeros(3, bool), k=np.int64(2), index=np.arange(3), has_true=np.bool_(False), true=np.zeros(0))
    with pytest.raises(DatasetError, match="different lengths"):
        load(tmp_path / "short.npz")
