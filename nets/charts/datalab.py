"""The Data lab's charts: the training images each class is given (clean, modified, flipped), and per-class recall of the two runs."""
from __future__ import annotations

import altair as alt
import pandas as pd

from nets.plots import FONT, HEIGHT, PALETTE, style

CLEAN, MODIFIED, WRONG = "#999999", PALETTE[0], PALETTE[4]


def counts_frame(counts: pd.DataFrame) -> pd.DataFrame:
    """nets.datalab.plan.class_counts in long form: per class, the clean set's images, and the modified set's
    split into right and flipped labels."""
    rows = []
    for r in counts.itertuples(index=False):
        rows += [{"class": r[0], "set": "clean", "part": "clean set", "images": int(r.clean)},
                 {"class": r[0], "set": "modified", "part": "right label", "images": int(r.given) - int(r[3])},
                 {"class": r[0], "set": "modified", "part": "flipped label", "images": int(r[3])}]
    return pd.DataFrame(rows)


def counts_chart(counts: pd.DataFrame, title: str = "Training images the model is given, per label") -> alt.Chart:
    frame = counts_frame(counts)
    order = list(counts["class"])
    parts = ["clean set", "right label", "flipped label"]
    chart = alt.Chart(frame, title=title).mark_bar().encode(
        y=alt.Y("class:N", sort=order, title=None),
        yOffset=alt.YOffset("set:N", sort=["clean", "modified"]),
        x=alt.X("sum(images):Q", title="images"),
        color=alt.Color("part:N", sort=parts, scale=alt.Scale(domain=parts, range=[CLEAN, MODIFIED, WRONG]),
                        legend=alt.Legend(title=None, orient="bottom")),
        order=alt.Order("part_order:Q"),
        tooltip=["class", "set", "part", "images"],
    ).transform_calculate(part_order="indexof(['clean set', 'right label', 'flipped label'], datum.part)"
                          ).properties(height=min(max(200, 22 * len(order)), 520))
    return style(chart)


def recall_frame(rows: list[dict]) -> pd.DataFrame:
    """nets.datalab.shift.ClassShift.rows() in long form: per class, the clean and the modified run's recall."""
    return pd.DataFrame([{"class": r["class"], "run": run, "recall": r[run], "change": r["change"]}
                         for r in rows for run in ("clean", "modified")])


def recall_chart(rows: list[dict], title: str = "Recall per class: how many of its test images each run gets right"
                 ) -> alt.Chart:
    frame = recall_frame(rows)
    order = [r["class"] for r in rows]
    bars = alt.Chart(frame, title=title).mark_bar().encode(
        y=alt.Y("class:N", sort=order, title=None),
        yOffset=alt.YOffset("run:N", sort=["clean", "modified"]),
        x=alt.X("recall:Q", title="recall (test set)", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("run:N", sort=["clean", "modified"], scale=alt.Scale(range=[CLEAN, MODIFIED]),
                        legend=alt.Legend(title=None, orient="bottom")),
        tooltip=["class", "run", alt.Tooltip("recall:Q", format=".1%"), alt.Tooltip("change:Q", format="+.1%")],
    )
    text = alt.Chart(frame[frame["run"] == "modified"]).mark_text(align="left", dx=4, fontSize=FONT - 2).encode(
        y=alt.Y("class:N", sort=order), yOffset=alt.YOffset("run:N", sort=["clean", "modified"]),
        x="recall:Q", text=alt.Text("change:Q", format="+.0%"))
    return style((bars + text).properties(height=max(HEIGHT, 30 * len(order))))
