"""Per-class recall of a modified training set's model against the clean one's, and the one-sentence lesson from the numbers.

`class_shift(clean, modified)` takes the two models' evaluations on the same (clean) test set and keeps
each class's recall before and after, both confusion matrices and both accuracies. `lesson(mod, shift,
classes)` writes one sentence about the modification's step whose effect is largest: a pair flip ("The
model now calls 41% of 7s a 1 (3% before): it learnt the flipped labels."), a kept share of a class
("Recall of 3 fell from 92% to 61% with 10% of its images kept.") or symmetric noise ("30% of labels
flipped at random cost 6.2 points of test accuracy (97.1% → 90.9%)."). The difference of the two confusion
matrices for a chart is nets.runs.compare.confusion_difference.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from nets.engine.evaluate import Evaluation

LEARNT = 0.05   # a pair's confusion rate up by this much (5 points) or more: "it learnt the flipped labels"
FELL = 0.02     # a kept class's recall down by 2 points or more: "fell"
COST = 0.005    # test accuracy down by half a point or more: "cost"


def _rates(confusion: torch.Tensor) -> torch.Tensor:
    """Row-normalised confusion: [a, b] is the share of class a's test images predicted as b."""
    cm = torch.as_tensor(confusion, dtype=torch.float64)
    return cm / cm.sum(1, keepdim=True).clamp_min(1)


@dataclass
class ClassShift:
    classes: list[str]
    clean: list[float]              # recall of each class, the clean run
    modified: list[float]           # recall of each class, the modified run
    accuracy_clean: float
    accuracy_modified: float
    confusion_clean: torch.Tensor      # K×K counts, rows true, columns predicted
    confusion_modified: torch.Tensor

    @property
    def change(self) -> list[float]:
        """Modified minus clean recall per class (negative: the class got worse)."""
        return [m - c for c, m in zip(self.clean, self.modified)]

    def drops(self, n: int | None = None) -> list[int]:
        """The classes whose recall fell, biggest drop first."""
        fell = sorted((d, i) for i, d in enumerate(self.change) if d < 0)
        return [i for _, i in fell][:n]

    def rate(self, a: int, b: int, modified: bool = True) -> float:
        """The share of class a's test images that the (modified or clean) model calls b."""
        return float(_rates(self.confusion_modified if modified else self.confusion_clean)[a, b])

    def rows(self) -> list[dict]:
        """One row per class for a table: recall clean, recall modified, change (fractions)."""
        return [{"class": name, "clean": c, "modified": m, "change": m - c}
                for name, c, m in zip(self.classes, self.clean, self.modified)]


def class_shift(clean: Evaluation, modified: Evaluation) -> ClassShift:
    """Per-class recall of two models evaluated on the same test set."""
    if list(clean.classes) != list(modified.classes):
        raise ValueError("The two runs have different classes, so their recalls cannot be compared.")
    if len(clean.labels) != len(modified.labels) or not torch.equal(clean.labels, modified.labels):
        raise ValueError("The two evaluations are not of the same test images.")
    return ClassShift(list(clean.classes), clean.per_class_accuracy(), modified.per_class_accuracy(),
                      clean.accuracy, modified.accuracy, clean.confusion, modified.confusion)


def _pct(p: float) -> str:
    return f"{float(p):.2f}".rstrip("0").rstrip(".") + "%"


def _digit(name: str) -> bool:
    return name.isdigit() and len(name) <= 3


def _of(name: str) -> str:
    """'7s' for a digit class, 'the Shirt images' for a named one."""
    return f"{name}s" if _digit(name) else f"the {name} images"


def _as(name: str) -> str:
    return f"a {name}" if _digit(name) else f"'{name}'"


def _pair(shift: ClassShift, classes: list[str], a: int, b: int, q: float) -> tuple[float, str]:
    before, after = shift.rate(a, b, False), shift.rate(a, b)
    if after - before >= LEARNT:
        text = (f"The model now calls {after:.0%} of {_of(classes[a])} {_as(classes[b])} ({before:.0%} before): "
                "it learnt the flipped labels.")
    else:
        text = (f"The model calls only {after:.0%} of {_of(classes[a])} {_as(classes[b])} ({before:.0%} before): "
                f"with {_pct(100 - q)} of them still labelled {classes[a]}, the right label outvoted the flipped one.")
    return max(after - before, -shift.change[a]), text


def _keep(shift: ClassShift, classes: list[str], kept: tuple[int, ...], p: float) -> tuple[float, str]:
    worst = min(kept, key=lambda c: (shift.change[c], c))
    before, after = shift.clean[worst], shift.modified[worst]
    share = f"{_pct(p)} of its images kept"
    if before - after >= FELL:
        text = f"Recall of {classes[worst]} fell from {before:.0%} to {after:.0%} with {share}."
    else:
        text = f"Recall of {classes[worst]} held at {after:.0%} ({before:.0%} before) with only {share}."
    return before - after, text


def _symmetric(shift: ClassShift, q: float) -> tuple[float, str]:
    a, b = shift.accuracy_clean, shift.accuracy_modified
    if a - b >= COST:
        text = f"{_pct(q)} of labels flipped at random cost {100 * (a - b):.1f} points of test accuracy ({a:.1%} → {b:.1%})."
    else:
        text = f"{_pct(q)} of labels flipped at random left test accuracy almost unchanged ({a:.1%} → {b:.1%})."
    return a - b, text


def lesson(mod, shift: ClassShift, classes: list[str] | None = None, confusion_modified=None) -> str:
    """One sentence from the numbers about the step of `mod` (a nets.engine.datamod.DataMod) whose effect
    is largest. `confusion_modified` (K×K counts) replaces the shift's own when given."""
    classes = list(classes) if classes is not None else shift.classes
    if confusion_modified is not None:
        shift = ClassShift(shift.classes, shift.clean, shift.modified, shift.accuracy_clean,
                           shift.accuracy_modified, shift.confusion_clean, torch.as_tensor(confusion_modified))
    said: list[tuple[float, str]] = []
    for a, b, q in mod.flips:
        said.append(_symmetric(shift, q) if a is None else _pair(shift, classes, a, b, q))
    if mod.keep is not None:
        said.append(_keep(shift, classes, tuple(mod.keep[0]), mod.keep[1]))
    a, b = shift.accuracy_clean, shift.accuracy_modified
    if not said:
        points = f"({100 * (b - a):+.1f} points)"
        text = (f"Test accuracy went from {a:.1%} to {b:.1%} {points}." if mod.clean
                else f"The training set was not modified: test accuracy {a:.1%} → {b:.1%} {points}.")
    else:
        text = max(enumerate(said), key=lambda t: (t[1][0], -t[0]))[1][1]  # largest effect; ties: first said
    if mod.clean:
        first = text.split(" ", 1)[0]
        text = text[0].lower() + text[1:] if first in ("The", "Recall", "Test") else text
        text = f"After dropping the labels that {mod.clean}-fold cross-validation flagged, {text}"
    return text
