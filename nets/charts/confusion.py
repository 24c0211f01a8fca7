"""Confusion matrices drawn: heat maps (of one run, or of two runs' difference), the clicked cell, bars per class.

The lecture's convention: row i is the true class, column j the predicted class; nets.runs.compare
computes the matrices and their differences, this module draws them. The heat map's clicked cell
comes back from Streamlit as a plain dict, read here without Streamlit.
"""
from __future__ import annotations

import math

import altair as alt
import pandas as pd
import torch

from nets.engine.evaluate import Evaluation
from nets.plots import HEIGHT, style

CELL_PARAM = "cell"          # name of the heat map's point selection
MAX_TEXT_CLASSES = 12        # above this, numbers in the cells would not fit
BETTER_LEGEND = "blue: B better · red: A better"  # the colours of b_better's signs (nets.runs.compare)
BETTER_CAPTION = ("One colour means the same everywhere: **blue, B is better** (on the diagonal B gets the class "
                  "right more often; off it B makes that mistake less often), **red, A is better**. Each number "
                  "is the change in points of the true class's test images, signed so that + favours B.")


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
