"""Altair charts for training curves, built from plain lists (no Streamlit here).

Long histories are thinned before they are drawn: Streamlit re-sends the whole series on every
update, so the cost of a redraw must not grow with the run's length.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

MAX_POINTS = 400
METRICS = {  # name → (EpochEnd key, split label, y-axis title)
    "train loss": ("train_loss", "train", "loss"),
    "test loss": ("test_loss", "test", "loss"),
    "val loss": ("val_loss", "validation", "loss"),
    "train acc": ("train_acc", "train", "accuracy"),
    "test acc": ("test_acc", "test", "accuracy"),
    "val acc": ("val_acc", "validation", "accuracy"),
}


def thin(points: list, max_points: int = MAX_POINTS) -> list:
    """Every k-th point, always keeping the last one."""
    if len(points) <= max_points:
        return list(points)
    step = -(-len(points) // max_points)
    out = points[::step]
    return out if out[-1] == points[-1] else out + [points[-1]]


def loss_points_frame(points: list[tuple[int, float]], run: str = "", max_points: int = MAX_POINTS) -> pd.DataFrame:
    kept = [(n, v) for n, v in thin(points, max_points) if v == v and abs(v) != float("inf")]
    return pd.DataFrame({"images seen": [p[0] for p in kept], "loss": [p[1] for p in kept], "run": run})


def epochs_frame(epochs: list[dict], kind: str, run: str = "") -> pd.DataFrame:
    """Long format (epoch, split, value, run) for 'loss' or 'accuracy' from EpochEnd dicts."""
    rows = []
    for name, (key, split, axis) in METRICS.items():
        if axis != kind:
            continue
        for e in epochs:
            if e.get(key) is not None:
                rows.append({"epoch": e["epoch"], "split": split, "value": e[key], "run": run})
    return pd.DataFrame(rows, columns=["epoch", "split", "value", "run"])


def loss_vs_images(df: pd.DataFrame, title: str = "Training loss") -> alt.Chart:
    color = alt.Color("run:N", legend=alt.Legend(orient="bottom")) if df["run"].nunique() > 1 else alt.value("#4c78a8")
    return (alt.Chart(df, title=title).mark_line()
            .encode(x=alt.X("images seen:Q", title="images seen"),
                    y=alt.Y("loss:Q", title="training loss", scale=alt.Scale(zero=False)),
                    color=color, tooltip=["run", "images seen", alt.Tooltip("loss:Q", format=".4f")])
            .properties(height=260))


def by_epoch(df: pd.DataFrame, kind: str, title: str | None = None) -> alt.Chart:
    """Lines per split (and per run when there are several) against epoch."""
    several = df["run"].nunique() > 1
    y_format = ".0%" if kind == "accuracy" else ".3~g"  # ~g: 0.0899 stays distinct from 0.0901
    enc = dict(
        x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("value:Q", title=kind, axis=alt.Axis(format=y_format), scale=alt.Scale(zero=False)),
        color=alt.Color("run:N" if several else "split:N", legend=alt.Legend(orient="bottom")),
        tooltip=["run", "split", "epoch", alt.Tooltip("value:Q", format=y_format)],
    )
    if several:
        enc["strokeDash"] = alt.StrokeDash("split:N")
    return (alt.Chart(df, title=title or kind.capitalize()).mark_line(point=True).encode(**enc)
            .properties(height=260))
