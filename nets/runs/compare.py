"""Comparing saved runs: the runs table, confusion matrices and their differences, the worst
examples, and the pieces the Runs and Predictions pages draw (no Streamlit here).

Confusion matrices follow the lecture's convention: row i is the true class, column j the
predicted class, so C[i, i] / sum_j C[i, j] is the accuracy on class i.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
import torch

from nets.engine.evaluate import Evaluation, evaluate
from nets.inspect.pictures import enlarge_to, tile_grid, to_display
from nets.plots import HEIGHT, epochs_frame, style
from nets.runs import CheckpointError, Run
from nets.runs.table import runs_table  # noqa: F401  (the Runs page's table, kept here by name)
from nets.text import one_line

CELL_PARAM = "cell"          # name of the heat map's point selection
DISPLAY_SIZE = 84            # images are upscaled to about this many pixels for the grids
MAX_TEXT_CLASSES = 12        # above this, numbers in the cells would not fit


# ----------------------------------------------------------------------------- the runs table
def run_labels(runs: list[Run]) -> dict[str, str]:
    """Run id → the label used in legends: the name, made unique with the id where names repeat."""
    names = {r.id: one_line(r.name) if isinstance(r.name, str) else r.id for r in runs}  # a hand-edited record
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    return {r.id: names[r.id] if counts[names[r.id]] == 1 else f"{names[r.id]} ({r.id[-6:]})" for r in runs}


def curve_frames(runs: list[Run]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(loss, accuracy) long frames for nets.plots.by_epoch: train and test loss, and the held-out
    accuracy only, since train accuracy measured during an epoch is not comparable across runs.
    The loss_kind column (TrainConfig.loss) keeps cross-entropy and squared error on separate axes."""
    labels = run_labels(runs)
    loss = [epochs_frame(r.info.get("history", []), "loss", labels[r.id], r.config.loss) for r in runs]
    acc = [epochs_frame(r.info.get("history", []), "accuracy", labels[r.id], r.config.loss) for r in runs]
    loss_df = pd.concat(loss, ignore_index=True) if loss else epochs_frame([], "loss")
    acc_df = pd.concat(acc, ignore_index=True) if acc else epochs_frame([], "accuracy")
    return loss_df, acc_df[acc_df["split"] != "train"].reset_index(drop=True)


# ----------------------------------------------------------------------------- evaluation
def evaluate_run(run: Run, model: torch.nn.Module, data) -> Evaluation:
    """The run's model on the test split of `data` (an ImageData), normalised as in training."""
    info = run.info
    if run.config.backbone:
        raise CheckpointError(f"Run '{run.name}' is a head trained on frozen {run.config.backbone} features, "
                              "not on images: its per-image views are not available here; its accuracy "
                              "and curves are in the table above.")
    shape = info.get("input_shape")
    if shape is not None and list(shape) != list(data.x_test.shape[1:]):
        raise CheckpointError(f"Run '{run.name}' was trained on images of shape {tuple(shape)}, but the "
                              f"{data.name} test images are {tuple(data.x_test.shape[1:])}.")
    classes = info.get("classes") or data.classes
    if len(classes) != len(data.classes):
        raise CheckpointError(f"Run '{run.name}' has {len(classes)} classes, but {data.name} has "
                              f"{len(data.classes)}.")
    return evaluate(model, data.x_test, data.y_test, info.get("mean") or data.mean,
                    info.get("std") or data.std, classes, run.config.loss, scale=info.get("scale", 255.0))


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


BETTER_LEGEND = "blue: B better · red: A better"
BETTER_CAPTION = ("One colour means the same everywhere: **blue, B is better** (on the diagonal B gets the class "
                  "right more often; off it B makes that mistake less often), **red, A is better**. Each number "
                  "is the change in points of the true class's test images, signed so that + favours B.")


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


# ----------------------------------------------------------------------------- charts
def confusion_frame(matrix, classes: list[str], normalised: bool, signed: bool = False) -> pd.DataFrame:
    """Long format, one row per cell, for an Altair heat map (signed: a difference of fractions)."""
    m = torch.as_tensor(matrix).double().tolist()
    rows = []
    for i, row in enumerate(m):
        for j, v in enumerate(row):
            rows.append({"true": classes[i], "predicted": classes[j], "true_index": i,
                         "predicted_index": j, "value": v,
                         "label": f"{v:+.0%}" if signed else f"{v:.0%}" if normalised else f"{v:.0f}"})
    return pd.DataFrame(rows, columns=["true", "predicted", "true_index", "predicted_index", "value", "label"])


def class_axis(classes: list[str]) -> alt.Axis:
    """Class names along x: long names (CIFAR's "automobile") slanted, and every one shown (Vega
    would otherwise drop every other label whose slanted box touches its neighbour's)."""
    slant = -45 if max((len(c) for c in classes), default=0) > 3 else 0
    return alt.Axis(labelAngle=slant, labelAlign="right" if slant else "center", labelOverlap=False,
                    labelLimit=120)


def heatmap(frame: pd.DataFrame, classes: list[str], title: str = "", normalised: bool = False,
            difference: bool = False, param: str = CELL_PARAM, size: int = 340) -> alt.Chart:
    """A confusion-matrix heat map; clicking a cell selects its (true, predicted) pair.
    Counts are coloured from 0 to the largest count, fractions from 0 to 1; a difference (b_better's
    signs) from red (A better) through white to blue (B better), its legend saying so."""
    sel = alt.selection_point(name=param, fields=["true_index", "predicted_index"], on="click")
    top_value = float(frame["value"].abs().max()) if len(frame) else 0.0
    if difference:
        top = max(top_value, 1e-6)
        scale = alt.Scale(scheme="redblue", domain=[-top, top])
        legend_format = "+.0%"
    else:
        scale = alt.Scale(scheme="blues", domain=[0, 1 if normalised else max(top_value, 1.0)])
        legend_format = ".0%" if normalised else "d"
    tooltip = ["true", "predicted", alt.Tooltip("label:N", title="value")]
    base = alt.Chart(frame, title=title).encode(
        x=alt.X("predicted:N", sort=classes, title="predicted class", axis=class_axis(classes)),
        y=alt.Y("true:N", sort=classes, title="true class", axis=alt.Axis(labelLimit=120)))
    # The colour scale goes below the matrix: beside it, it would not fit in half a 1366-pixel page
    # next to CIFAR's long class names.
    legend = alt.Legend(format=legend_format, title=BETTER_LEGEND if difference else None, orient="bottom",
                        direction="horizontal", titleOrient="top",
                        gradientLength=max(size // 2, 120))
    cells = base.mark_rect(stroke="white").encode(
        color=alt.Color("value:Q", scale=scale, legend=legend),
        opacity=alt.condition(sel, alt.value(1.0), alt.value(0.4)),
        tooltip=tooltip).add_params(sel)
    chart = cells
    if len(classes) <= MAX_TEXT_CLASSES:
        cut = 0 if difference else top_value / 2
        cell = size / max(len(classes), 1)  # "100%" is about 2.6 font sizes wide
        text = base.mark_text(fontSize=int(min(14, max(8, cell / 2.7)))).encode(
            text="label:N",
            color=(alt.value("black") if difference
                   else alt.condition(alt.datum.value > cut, alt.value("white"), alt.value("black"))),
            tooltip=tooltip)
        chart = cells + text
    return style(chart.properties(width=size, height=size), "pad")


def parse_cell_selection(selection_state, param: str = CELL_PARAM, k: int | None = None) -> tuple[int, int] | None:
    """(true index, predicted index) of the clicked cell, or None.

    Streamlit returns {"selection": {param: [{"true_index": i, "predicted_index": j}, ...]}} for a
    point selection projected on those fields, and {"selection": {param: {}}} when nothing is
    selected. With shift-click there are several points; the last one is the latest click."""
    try:
        points = selection_state["selection"][param]
    except (KeyError, TypeError, IndexError):
        return None
    if not isinstance(points, (list, tuple)) or not points:
        return None
    point = points[-1]
    try:
        i, j = point["true_index"], point["predicted_index"]
        if isinstance(i, bool) or isinstance(j, bool):
            return None
        fi, fj = float(i), float(j)
    except (KeyError, TypeError, ValueError):
        return None
    if not (fi.is_integer() and fj.is_integer()) or fi < 0 or fj < 0:
        return None
    if k is not None and (fi >= k or fj >= k):
        return None
    return int(fi), int(fj)


def accuracy_floor(accuracies, margin: float = 0.05) -> float:
    """Where a zoomed accuracy axis starts: a whole 10 % below the worst class with a margin, or 0
    when some class is below 50 % (then the whole range is the story)."""
    worst = min(accuracies, default=0.0)
    return 0.0 if worst < 0.5 else math.floor((worst - margin) * 10 + 1e-9) / 10


def per_class_chart(evaluation: Evaluation, title: str = "Accuracy per class") -> alt.Chart:
    """Bars on an axis zoomed in to the worst class, so 89 % and 98 % look different; the axis
    title says where it starts, and every bar carries its number."""
    acc = evaluation.per_class_accuracy()
    frame = pd.DataFrame({"class": evaluation.classes, "accuracy": acc})
    floor = accuracy_floor(acc)
    y_title = f"accuracy (axis starts at {floor:.0%})" if floor > 0 else "accuracy"
    base = alt.Chart(frame, title=title).encode(
        x=alt.X("class:N", sort=evaluation.classes, title="class", axis=class_axis(evaluation.classes)),
        y=alt.Y("accuracy:Q", title=y_title, scale=alt.Scale(domain=[floor, 1], zero=False, nice=False),
                axis=alt.Axis(format=".0%")),
        tooltip=["class", alt.Tooltip("accuracy:Q", format=".1%")])
    bars = base.mark_bar(clip=True, color="#0072B2")
    numbers = base.mark_text(dy=-7, fontSize=12).encode(text=alt.Text("accuracy:Q", format=".0%"))
    return style((bars + numbers).properties(height=HEIGHT))


# ----------------------------------------------------------------------------- image grids
def display_image(x: torch.Tensor, size: int = DISPLAY_SIZE) -> np.ndarray:
    """uint8 C×H×W → H×W (grey) or H×W×3, enlarged by a whole factor with nearest neighbours so
    the pixels stay sharp instead of being blurred by the browser."""
    return enlarge_to(to_display(x.detach().cpu().numpy().astype(np.uint8, copy=False)), size)


def image_grid_items(evaluation: Evaluation, indices, x_test: torch.Tensor, classes: list[str] | None = None,
                     notes: list[str] | None = None, size: int = DISPLAY_SIZE) -> list[tuple[np.ndarray, str]]:
    """(image, caption) per test index; the caption marks right (✓) or wrong (✗) predictions."""
    classes = classes or evaluation.classes
    items = []
    for n, i in enumerate(int(i) for i in indices):
        t, p = int(evaluation.labels[i]), int(evaluation.predictions[i])
        caption = f"{'✓' if t == p else '✗'} true {classes[t]}, predicted {classes[p]}"
        if notes is not None:
            caption += f" · {notes[n]}"
        items.append((display_image(x_test[i], size), caption))
    return items


def contact_sheet(images: list[np.ndarray], per_row: int = 8, gap: int = 2, background: int = 255) -> np.ndarray:
    """Images of one shape (H×W grey or H×W×3) in one picture, `per_row` to a row, `gap` pixels
    apart: a compact grid whose size does not depend on captions or the browser's width."""
    return tile_grid(images, per_row, gap, fill=background)


def loss_notes(losses: list[float]) -> list[str]:
    return [f"loss {v:.2f}" if math.isfinite(v) else "loss ∞" for v in losses]
