"""Comparing saved runs: their labels, confusion matrices and their differences, the worst examples.

Confusion matrices follow the lecture's convention: row i is the true class, column j the
predicted class, so C[i, i] / sum_j C[i, j] is the accuracy on class i. What the pages draw of
them (heat maps, bars, image grids) is in nets.charts.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from nets.engine.evaluate import Evaluation, evaluate
from nets.runs import CheckpointError, Run
from nets.text import one_line


# ----------------------------------------------------------------------------- labels
def run_labels(runs: list[Run]) -> dict[str, str]:
    """Run id → the label used in legends: the name, made unique with the id where names repeat."""
    names = {r.id: one_line(r.name) if isinstance(r.name, str) else r.id for r in runs}  # a hand-edited record
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    return {r.id: names[r.id] if counts[names[r.id]] == 1 else f"{names[r.id]} ({r.id[-6:]})" for r in runs}


# ----------------------------------------------------------------------------- evaluation
def check_test_images(run: Run, data, backbone_why: str) -> list[str]:
    """The run's classes, when its model takes `data`'s test images; CheckpointError saying why not (a head
    on frozen features, `backbone_why` then; another image shape; another class count)."""
    info = run.info
    if run.config.backbone:
        raise CheckpointError(f"Run '{run.name}' is a head trained on frozen {run.config.backbone} features, "
                              f"not on images: {backbone_why}.")
    shape = info.get("input_shape")
    if shape is not None and list(shape) != list(data.x_test.shape[1:]):
        raise CheckpointError(f"Run '{run.name}' was trained on images of shape {tuple(shape)}, but the "
                              f"{data.name} test images are {tuple(data.x_test.shape[1:])}.")
    classes = info.get("classes") or data.classes
    if len(classes) != len(data.classes):
        raise CheckpointError(f"Run '{run.name}' has {len(classes)} classes, but {data.name} has "
                              f"{len(data.classes)}.")
    return classes


def evaluate_run(run: Run, model: torch.nn.Module, data) -> Evaluation:
    """The run's model on the test split of `data` (an ImageData), normalised as in training."""
    info = run.info
    classes = check_test_images(run, data, "its per-image views are not available here; its accuracy and "
                                           "curves are in the table above")
    return evaluate(model, data.x_test, data.y_test, info.get("mean") or data.mean,
                    info.get("std") or data.std, classes, run.config.loss, scale=info.get("scale", 255.0),
                    tta=run.config.tta)  # as the run's last epoch measured it


def normalise(confusion) -> torch.Tensor:
    """Rows divided by their sums (row i: where the images of class i went); empty rows stay 0."""
    cm = torch.as_tensor(confusion, dtype=torch.float64)
    totals = cm.sum(1, keepdim=True)
    return torch.where(totals > 0, cm / totals.clamp_min(1e-300), torch.zeros_like(cm))


@dataclass
class ClassChange:
    name: str
    before: float   # per-class accuracy of A
    after: float    # per-class accuracy of B

    @property
    def delta(self) -> float:
        return self.after - self.before

    def __str__(self) -> str:
        points = round(100 * self.delta)
        unit = "point" if abs(points) == 1 else "points"
        return f"{self.name}: {self.before:.0%} → {self.after:.0%} ({points:+d} {unit})"


def b_better(norm_a, norm_b) -> torch.Tensor:
    """How much better B is than A in each cell of two normalised confusion matrices, so that one sign
    means "B better" everywhere: on the diagonal B − A (B gets the class right more often), off it
    A − B (B makes that mistake less often). Positive: B better; negative: A better."""
    a, b = torch.as_tensor(norm_a, dtype=torch.float64), torch.as_tensor(norm_b, dtype=torch.float64)
    diagonal = torch.eye(a.shape[0], dtype=torch.bool)
    return torch.where(diagonal, b - a, a - b)


@dataclass
class ConfusionDifference:
    matrix: torch.Tensor       # b_better(normalised(A), normalised(B)): positive = B better, in every cell
    better: list[ClassChange]  # biggest improvement first
    worse: list[ClassChange]   # biggest drop first
    classes: list[str]

    def summary(self, name_a: str = "A", name_b: str = "B") -> list[str]:
        """Plain sentences for the lesson: which classes B gets right more (less) often than A."""
        if not self.better and not self.worse:
            return [f"{name_b} and {name_a} get every class right equally often."]
        out = []
        if self.better:
            out.append(f"{name_b} is better than {name_a} on " + ", ".join(map(str, self.better)) + ".")
        if self.worse:
            out.append(f"{name_b} is worse than {name_a} on " + ", ".join(map(str, self.worse)) + ".")
        return out


def confusion_difference(eval_a: Evaluation, eval_b: Evaluation, tolerance: float = 1e-9) -> ConfusionDifference:
    if list(eval_a.classes) != list(eval_b.classes):
        raise ValueError("The two runs have different classes, so their confusion matrices cannot be compared.")
    matrix = b_better(normalise(eval_a.confusion), normalise(eval_b.confusion))
    acc_a, acc_b = eval_a.per_class_accuracy(), eval_b.per_class_accuracy()
    changes = [ClassChange(c, a, b) for c, a, b in zip(eval_a.classes, acc_a, acc_b)]
    better = sorted((c for c in changes if c.delta > tolerance), key=lambda c: -c.delta)
    worse = sorted((c for c in changes if c.delta < -tolerance), key=lambda c: c.delta)
    return ConfusionDifference(matrix, better, worse, list(eval_a.classes))


def per_example_loss(evaluation: Evaluation, loss: str = "ce", logits: torch.Tensor | None = None) -> torch.Tensor:
    """Each test image's loss, from the logits when given, else from the stored probabilities."""
    y = evaluation.labels
    if logits is not None:
        from nets.engine.losses import compute_loss
        return compute_loss(loss, logits.cpu(), y, reduction="none").float()
    p = evaluation.probabilities.double()
    if loss == "ce":
        return -p.gather(1, y.view(-1, 1)).squeeze(1).clamp_min(1e-30).log().float()
    if loss == "mse":
        target = torch.nn.functional.one_hot(y, p.shape[1]).double()
        return (p - target).pow(2).mean(1).float()
    raise ValueError(f"Unknown loss '{loss}'; choose 'ce' or 'mse'.")


def highest_loss(evaluation: Evaluation, n: int = 20, loss: str = "ce",
                 logits: torch.Tensor | None = None) -> tuple[list[int], list[float]]:
    """Indices and losses of the n test images with the largest loss, largest first."""
    losses = per_example_loss(evaluation, loss, logits)
    order = torch.sort(losses, descending=True, stable=True).indices[:max(n, 0)]
    return order.tolist(), losses[order].tolist()


def confused_pairs(evaluation: Evaluation, n: int = 10) -> list[dict]:
    """The most confused (true, predicted) pairs as table rows, with the share of the true class."""
    totals = evaluation.confusion.sum(1).tolist()
    index = {c: i for i, c in enumerate(evaluation.classes)}
    return [{"true": t, "predicted": p, "images": c, "share of the class": c / max(totals[index[t]], 1)}
            for t, p, c in evaluation.most_confused(n)]
