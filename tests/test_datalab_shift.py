"""nets.datalab.shift: per-class recall before and after, and the one lesson sentence written from
constructed evaluations (pair flips learnt or outvoted, a kept share of a class, symmetric noise, the clean step)."""
from __future__ import annotations

import pytest
import torch

from nets.datalab.shift import class_shift, lesson
from nets.engine.datamod import DataMod
from nets.engine.evaluate import Evaluation

DIGITS = [str(d) for d in range(10)]


def _eval(cells: dict[tuple[int, int], int], classes=DIGITS) -> Evaluation:
    """An evaluation with cells[(true, predicted)] test images in each cell."""
    labels, preds = [], []
    for (t, p), n in sorted(cells.items()):  # true labels in order: the same test images
        labels += [t] * n
        preds += [p] * n
    labels, preds = torch.tensor(labels), torch.tensor(preds)
    probs = torch.nn.functional.one_hot(preds, len(classes)).float()
    return Evaluation(0.0, float((labels == preds).float().mean()), labels, preds, probs, list(classes))


def _digits(**moved) -> Evaluation:
    """100 test images per digit, all right except moved['a_b'] = n of the a's called b."""
    cells = {}
    for d in range(10):
        cells[(d, d)] = 100
    for key, n in moved.items():
        a, b = map(int, key[1:].split("_"))
        cells[(a, a)] -= n
        cells[(a, b)] = cells.get((a, b), 0) + n
    return _eval(cells)


def test_the_shift_holds_each_class_recall_before_and_after():
    shift = class_shift(_digits(m7_1=3, m3_5=8), _digits(m7_1=41, m3_5=39))
    assert shift.clean[7] == pytest.approx(0.97) and shift.modified[7] == pytest.approx(0.59)
    assert shift.change[3] == pytest.approx(-0.31) and shift.change[0] == 0
    assert shift.drops() == [7, 3] and shift.drops(1) == [7]
    assert shift.rate(7, 1) == pytest.approx(0.41) and shift.rate(7, 1, modified=False) == pytest.approx(0.03)
    assert shift.rows()[7] == {"class": "7", "clean": pytest.approx(0.97), "modified": pytest.approx(0.59),
                               "change": pytest.approx(-0.38)}


def test_evaluations_of_different_classes_or_images_are_refused():
    with pytest.raises(ValueError, match="different classes"):
        class_shift(_digits(), _eval({(0, 0): 1000}, classes=list("abcdefghij")))
    with pytest.raises(ValueError, match="same test images"):
        class_shift(_digits(), _eval({(0, 0): 1000}))


def test_a_learnt_pair_flip():
    shift = class_shift(_digits(m7_1=3), _digits(m7_1=41))
    assert lesson(DataMod(flips=((7, 1, 30.0),)), shift, DIGITS) == (
        "The model now calls 41% of 7s a 1 (3% before): it learnt the flipped labels.")


def test_a_pair_flip_outvoted_by_the_right_labels():
    shift = class_shift(_digits(m7_1=3), _digits(m7_1=5))
    assert lesson(DataMod(flips=((7, 1, 30.0),)), shift, DIGITS) == (
        "The model calls only 5% of 7s a 1 (3% before): with 70% of them still labelled 7, "
        "the right label outvoted the flipped one.")


def test_the_confusion_given_replaces_the_shifts_own():
    shift = class_shift(_digits(m7_1=3), _digits(m7_1=5))
    text = lesson(DataMod(flips=((7, 1, 30.0),)), shift, DIGITS, _digits(m7_1=60).confusion)
    assert text.startswith("The model now calls 60% of 7s a 1 (3% before)")


def test_named_classes_read_as_names():
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Boot"]
    clean, modified = _digits(m6_0=10), _digits(m6_0=52)
    clean.classes = modified.classes = names
    assert lesson(DataMod(flips=((6, 0, 50.0),)), class_shift(clean, modified), names) == (
        "The model now calls 52% of the Shirt images 'T-shirt/top' (10% before): it learnt the flipped labels.")


def test_a_kept_share_of_classes_names_the_class_that_fell_most():
    shift = class_shift(_digits(m3_5=8, m5_3=4), _digits(m3_5=39, m5_3=10))
    assert lesson(DataMod(keep=((3, 5), 10.0)), shift, DIGITS) == (
        "Recall of 3 fell from 92% to 61% with 10% of its images kept.")
    held = class_shift(_digits(m3_5=8), _digits(m3_5=9))
    assert lesson(DataMod(keep=((3,), 12.5)), held, DIGITS) == (
        "Recall of 3 held at 91% (92% before) with only 12.5% of its images kept.")


def _accuracy(right: int) -> Evaluation:
    """1000 test images of two classes, `right` of them predicted right."""
    return _eval({(0, 0): right // 2, (1, 1): right - right // 2, (0, 1): 500 - right // 2,
                  (1, 0): 500 - (right - right // 2)}, classes=["0", "1"])


def test_symmetric_noise_is_its_cost_in_test_accuracy():
    shift = class_shift(_accuracy(971), _accuracy(909))
    assert lesson(DataMod(flips=((None, None, 30.0),)), shift) == (
        "30% of labels flipped at random cost 6.2 points of test accuracy (97.1% → 90.9%).")
    same = class_shift(_accuracy(971), _accuracy(970))
    assert lesson(DataMod(flips=((None, None, 5.0),)), same) == (
        "5% of labels flipped at random left test accuracy almost unchanged (97.1% → 97.0%).")


def test_of_several_steps_the_largest_effect_is_told():
    shift = class_shift(_digits(m7_1=3, m3_5=8), _digits(m7_1=41, m3_5=20))
    mod = DataMod(keep=((3,), 10.0), flips=((7, 1, 30.0),))
    assert lesson(mod, shift, DIGITS).startswith("The model now calls 41% of 7s a 1")
    shift = class_shift(_digits(m7_1=3, m3_5=8), _digits(m7_1=10, m3_5=60))
    assert lesson(mod, shift, DIGITS) == "Recall of 3 fell from 92% to 40% with 10% of its images kept."


def test_the_clean_step_and_no_modification_are_said():
    shift = class_shift(_accuracy(971), _accuracy(950))
    assert lesson(DataMod(flips=((None, None, 30.0),), clean=5), shift) == (
        "After dropping the labels that 5-fold cross-validation flagged, "
        "30% of labels flipped at random cost 2.1 points of test accuracy (97.1% → 95.0%).")
    assert lesson(DataMod(clean=3), shift) == (
        "After dropping the labels that 3-fold cross-validation flagged, test accuracy went from 97.1% to 95.0% "
        "(-2.1 points).")
    assert lesson(DataMod(), shift) == (
        "The training set was not modified: test accuracy 97.1% → 95.0% (-2.1 points).")
    mod = DataMod(flips=((7, 1, 30.0),), clean=5)
    assert lesson(mod, class_shift(_digits(m7_1=3), _digits(m7_1=41)), DIGITS) == (
        "After dropping the labels that 5-fold cross-validation flagged, the model now calls 41% of 7s a 1 "
        "(3% before): it learnt the flipped labels.")
