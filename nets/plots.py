"""The chart rules every page follows (size, colours, axes, legends), and the training-curve charts.

Charts are projected in a lecture room at 1366×768 and read from the back: at least HEIGHT pixels
tall, large fonts, the Okabe–Ito colour-blind-safe palette, train dashed and test solid (the legend
says so), y-axes that never zoom into noise, whole-number epochs, and losses of different kinds
(cross-entropy, squared error) never on one shared y-axis. Long histories are thinned before they are
drawn: Streamlit re-sends the whole series on every update, so a redraw must not grow with the run.
No Streamlit here.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

import altair as alt
import pandas as pd

from nets.engine.naming import LOSS_NAMES
from nets.runs.compare import run_labels

if TYPE_CHECKING:
    from nets.runs import Run

MAX_POINTS = 400
LIVE_POINTS = 300       # what the Train page keeps of the live loss curve: a redraw costs the same late in a run
HEIGHT = 300            # pixels: the least that reads from the back of a lecture room
FONT, TITLE_FONT = 14, 17
# Okabe & Ito (2008): told apart with every common colour-vision deficiency. Yellow comes last: it
# is faint on white.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000", "#F0E442"]
# split → (legend label, colour, dash); the label says which line is dashed
SPLITS = {"train": ("train (dashed)", "#E69F00", [7, 4]),
          "test": ("test (solid)", "#0072B2", [1, 0]),
          "validation": ("validation (dotted)", "#009E73", [2, 3])}
MIN_ACCURACY_SPAN = 0.05  # an accuracy axis shows at least 5 points
MIN_LOSS_SPAN = 0.2       # a loss axis shows at least this fraction of the loss's level
METRICS = {  # name → (EpochEnd key, split label, y-axis title)
    "train loss": ("train_loss", "train", "loss"),
    "test loss": ("test_loss", "test", "loss"),
    "val loss": ("val_loss", "validation", "loss"),
    "train acc": ("train_acc", "train", "accuracy"),
    "test acc": ("test_acc", "test", "accuracy"),
    "val acc": ("val_acc", "validation", "accuracy"),
}
COLUMNS = ["epoch", "split", "value", "run", "loss_kind"]


# ----------------------------------------------------------------------------- the rules
def style(chart, autosize: str | None = "fit-x"):
    """Fonts and default colours for the projector; applied once, to the chart a page draws.
    autosize 'fit-x': the width fits the page's column while the height stays that of the plot area
    (Streamlit's default, 'fit', would squeeze title, axes and legends into the height); 'pad': the
    given width and height are the plot area's (square heat maps); None: Streamlit's choice (it
    stretches each panel of a vconcat to the column's width)."""
    if autosize:
        chart = chart.properties(autosize=alt.AutoSizeParams(type=autosize, contains="padding"))
    return (chart.configure_axis(labelFontSize=FONT, titleFontSize=FONT + 1, labelLimit=220)
            .configure_legend(labelFontSize=FONT, titleFontSize=FONT, labelLimit=0, symbolStrokeWidth=3)
            .configure_header(labelFontSize=FONT + 1, titleFontSize=FONT + 1)
            .configure_title(fontSize=TITLE_FONT, anchor="start", limit=0)
            .configure_range(category=PALETTE))


def nice_step(span: float, count: int = 5) -> float:
    """A 1-2-5 step giving about `count` ticks over `span` (as Vega would choose)."""
    raw = max(span, 1e-12) / count
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9))


def decimals(step: float) -> int:
    """Decimals needed so that ticks `step` apart never print alike."""
    return max(0, -math.floor(math.log10(step) + 1e-9))


def value_axis(values, kind: str, count: int = 5) -> tuple[list[float], list[float], str]:
    """(domain, tick values, d3 format) for a loss or accuracy axis. The span is at least
    MIN_ACCURACY_SPAN (accuracy, kept inside [0, 1]) or MIN_LOSS_SPAN of the level (loss, kept ≥ 0),
    so a flat curve is drawn flat instead of as noise, and the ticks are whole steps that print
    distinctly."""
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    accuracy = kind == "accuracy"
    floor, ceiling = (0.0, 1.0) if accuracy else (0.0 if not finite or min(finite) >= 0 else -math.inf, math.inf)
    if not finite:
        finite = [0.0, 1.0]
    lo, hi = min(finite), max(finite)
    least = MIN_ACCURACY_SPAN if accuracy else max(MIN_LOSS_SPAN * max(abs(lo), abs(hi)), 1e-6)
    span = max(hi - lo, least)
    mid = (lo + hi) / 2
    lo, hi = mid - 0.55 * span, mid + 0.55 * span  # a margin so that no point sits on the frame
    if lo < floor:
        lo, hi = floor, min(hi + floor - lo, ceiling)
    if hi > ceiling:
        lo, hi = max(lo - (hi - ceiling), floor), ceiling
    step = nice_step(hi - lo, count)
    lo, hi = max(math.floor(lo / step + 1e-9) * step, floor), min(math.ceil(hi / step - 1e-9) * step, ceiling)
    lo, hi = round(lo, 12), round(hi, 12)
    ticks = [round(lo + i * step, 12) for i in range(int(round((hi - lo) / step)) + 1)]
    if accuracy:
        return [lo, hi], ticks, f".{decimals(step * 100)}%"
    return [lo, hi], ticks, f".{decimals(step)}f"


def exploding(values, factor: float = 1000.0) -> bool:
    """Positive values spanning more than `factor` (a loss blowing up): only a log axis shows them all."""
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    return bool(finite) and min(finite) > 0 and max(finite) / min(finite) > factor


def epoch_axis(epochs) -> tuple[list[float], int]:
    """(domain, tick count) for whole epochs; one epoch sits in the middle of its axis. The axis
    itself uses format 'd' and tickMinStep 1 (explicit tick values lost the middle label of three in
    Streamlit's charts)."""
    epochs = [int(e) for e in epochs] or [1]
    lo, hi = min(epochs), max(epochs)
    if hi == lo:
        return [lo - 0.5, hi + 0.5], 1
    return [lo, hi], min(hi - lo, 10)


# Channels are built as objects, never from strings or alt.value: Altair infers those through its
# JSON schema, which cost 5 ms per chart, and the Train page redraws its charts while training.
def fixed_colors(names) -> dict[str, str]:
    """A colour of the palette for each of `names`, in order, kept whichever of them a chart holds:
    runs that appear one after another (compared activations) never trade colours."""
    return dict(zip(names, PALETTE))


def run_color(several: bool, field: str = "run:N", title: str = "run", colors: dict[str, str] | None = None):
    """Colour by run (the palette, every full name readable in a one-column legend) or a fixed colour.
    `colors` (fixed_colors): each run name's own colour; otherwise the palette in the order of the
    names as Vega sorts them, so a new run can shift the others' colours."""
    if not several:
        return alt.ColorValue(PALETTE[0])
    if colors:  # a few short names known ahead: one row below the plot, so a live panel stays short
        return alt.Color(field, title=None, scale=alt.Scale(domain=list(colors), range=list(colors.values())),
                         legend=alt.Legend(orient="bottom", direction="horizontal", labelLimit=0,
                                           symbolType="stroke", symbolStrokeWidth=4))
    return alt.Color(field, title=title, scale=alt.Scale(range=PALETTE),
                     legend=alt.Legend(orient="bottom", direction="vertical", columns=1, labelLimit=0))


def split_legend(several: bool) -> alt.Legend:
    """Splits in one row above the plot (runs go in one column below it): neither is cut in a narrow
    column. With several runs the colours are the runs', so the dash symbols are drawn grey, and
    opaque although train lines are paler."""
    grey = {"symbolStrokeColor": "#555555", "symbolFillColor": "#555555"} if several else {}
    return alt.Legend(orient="top", direction="horizontal", symbolType="stroke", symbolStrokeWidth=3,
                      symbolSize=450, columnPadding=10, symbolOpacity=1, title=None, **grey)


def loss_title(kinds) -> str:
    """'loss (cross-entropy)' when the kind is known; otherwise plain 'loss'."""
    kinds = [k for k in kinds if k]
    return f"loss ({LOSS_NAMES.get(kinds[0], kinds[0])})" if len(set(kinds)) == 1 else "loss"


def loss_kinds(df: pd.DataFrame) -> list[str]:
    return [k for k in dict.fromkeys(df["loss_kind"]) if k] if "loss_kind" in df else []


# ----------------------------------------------------------------------------- frames
def thin(points: list, max_points: int = MAX_POINTS) -> list:
    """Every k-th point, always keeping the last one."""
    if len(points) <= max_points:
        return list(points)
    step = -(-len(points) // max_points)
    out = points[::step]
    return out if out[-1] == points[-1] else out + [points[-1]]


def loss_points_frame(points: list[tuple[int, float]], run: str = "", max_points: int = MAX_POINTS,
                      loss_kind: str = "") -> pd.DataFrame:
    kept = [(n, v) for n, v in thin(points, max_points) if v == v and abs(v) != float("inf")]
    return pd.DataFrame({"images seen": [p[0] for p in kept], "loss": [p[1] for p in kept], "run": run,
                         "loss_kind": loss_kind})


def epochs_frame(epochs: list[dict], kind: str, run: str = "", loss_kind: str = "") -> pd.DataFrame:
    """Long format (epoch, split, value, run, loss_kind) for 'loss' or 'accuracy' from EpochEnd
    dicts; loss_kind is TrainConfig.loss ('ce', 'mse'), so that different losses get their own axes."""
    rows = []
    for name, (key, split, axis) in METRICS.items():
        if axis != kind:
            continue
        for e in epochs:
            if e.get(key) is not None:
                rows.append({"epoch": e["epoch"], "split": split, "value": e[key], "run": run,
                             "loss_kind": loss_kind})
    return pd.DataFrame(rows, columns=COLUMNS)


def curve_frames(runs: list[Run]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Saved runs' (loss, accuracy) long frames for by_epoch, each run labelled by its name: train and
    test loss, and the held-out accuracy only, since train accuracy measured during an epoch is not
    comparable across runs.
    The loss_kind column (TrainConfig.loss) keeps cross-entropy and squared error on separate axes."""
    labels = run_labels(runs)
    loss = [epochs_frame(r.info.get("history", []), "loss", labels[r.id], r.config.loss) for r in runs]
    acc = [epochs_frame(r.info.get("history", []), "accuracy", labels[r.id], r.config.loss) for r in runs]
    loss_df = pd.concat(loss, ignore_index=True) if loss else epochs_frame([], "loss")
    acc_df = pd.concat(acc, ignore_index=True) if acc else epochs_frame([], "accuracy")
    return loss_df, acc_df[acc_df["split"] != "train"].reset_index(drop=True)


# ----------------------------------------------------------------------------- charts
def loss_vs_images(df: pd.DataFrame, title: str = "Training loss", height: int = HEIGHT,
                   loss_kind: str = "") -> alt.Chart:
    several = df["run"].nunique() > 1
    y_title = "training " + loss_title([loss_kind] + loss_kinds(df))
    if exploding(df["loss"]):  # a diverging run: on a linear axis every earlier point sits on zero
        scale, axis = alt.Scale(type="log", zero=False), alt.Axis(format="~e", tickCount=5)
        y_title += ", log scale"
    else:
        domain, ticks, fmt = value_axis(df["loss"], "loss")
        scale, axis = alt.Scale(domain=domain, nice=False, zero=False), alt.Axis(values=ticks, format=fmt)
    chart = (alt.Chart(df, title=title).mark_line(strokeWidth=2.5, clip=True)
             .encode(x=alt.X("images seen:Q", title="images seen", axis=alt.Axis(format=",d")),
                     y=alt.Y("loss:Q", title=y_title, scale=scale, axis=axis),
                     color=run_color(several),
                     tooltip=[alt.Tooltip("run:N"), alt.Tooltip("images seen:Q"), alt.Tooltip("loss:Q", format=".4f")])
             .properties(height=max(height, HEIGHT)))
    return style(chart)


def _by_epoch(df: pd.DataFrame, kind: str, title: str, height: int, loss_kind: str,
              colors: dict[str, str] | None = None) -> alt.Chart:
    """One unstyled panel: lines per split (and per run when there are several, or `colors` is
    given: then by run from the first run on) against epoch."""
    several = df["run"].nunique() > 1 or bool(colors)
    present = [s for s in SPLITS if s in set(df["split"])] or ["test"]
    labels = [SPLITS[s][0] for s in present]
    df = df.assign(line=df["split"].map(lambda s: SPLITS.get(s, (s,))[0]))
    domain, ticks, fmt = value_axis(df["value"], kind)
    x_domain, x_count = epoch_axis(df["epoch"])
    dash = alt.StrokeDash("line:N", title="split", scale=alt.Scale(domain=labels, range=[SPLITS[s][2] for s in present]),
                          legend=split_legend(several))
    if several:
        color = run_color(True, colors=colors)
    else:
        color = alt.Color("line:N", title="split", scale=alt.Scale(domain=labels, range=[SPLITS[s][1] for s in present]),
                          legend=split_legend(False))
    y_title = loss_title([loss_kind] + loss_kinds(df)) if kind == "loss" else kind
    tip = ".1%" if kind == "accuracy" else ".4f"
    return (alt.Chart(df, title=title).mark_line(point=alt.OverlayMarkDef(size=60, filled=True), strokeWidth=2.5, clip=True)
            .encode(x=alt.X("epoch:Q", title="epoch", scale=alt.Scale(domain=x_domain, nice=False),
                            axis=alt.Axis(format="d", tickMinStep=1, tickCount=x_count)),
                    y=alt.Y("value:Q", title=y_title, scale=alt.Scale(domain=domain, nice=False, zero=False),
                            axis=alt.Axis(format=fmt, values=ticks)),
                    color=color, strokeDash=dash,
                    # several runs take the colours, so train is also paler than test
                    opacity=(alt.Opacity("line:N", scale=alt.Scale(domain=labels, range=[0.55 if s == "train" else 1.0 for s in present]),
                                         legend=None) if several else alt.OpacityValue(1.0)),
                    tooltip=[alt.Tooltip("run:N"), alt.Tooltip("split:N"), alt.Tooltip("epoch:Q"),
                             alt.Tooltip("value:Q", title=kind, format=tip)])
            .properties(height=max(height, HEIGHT)))


def loss_panels(df: pd.DataFrame, title: str | None = None, height: int = HEIGHT) -> list[alt.Chart]:
    """One styled loss chart per loss kind in the frame: a cross-entropy and a squared error are
    different quantities, so they never share a y-axis. Put them side by side on the page."""
    kinds = loss_kinds(df)
    if len(kinds) <= 1:
        return [by_epoch(df, "loss", title, height)]
    return [style(_by_epoch(df[df["loss_kind"] == k], "loss", f"{title or 'Loss'}: {LOSS_NAMES.get(k, k)}",
                            height, k)) for k in kinds]


def by_epoch(df: pd.DataFrame, kind: str, title: str | None = None, height: int = HEIGHT,
             loss_kind: str = "", colors: dict[str, str] | None = None) -> alt.Chart:
    """Loss or accuracy against epoch. Losses of several kinds become one titled panel each, one
    above the other in one chart (a page with room should rather lay out loss_panels itself).
    `colors` (fixed_colors): each run's own colour, whichever runs the frame holds yet."""
    title = title or kind.capitalize()
    kinds = loss_kinds(df) if kind == "loss" else []
    if len(kinds) > 1:
        panels = [_by_epoch(df[df["loss_kind"] == k], kind, LOSS_NAMES.get(k, k), height, k) for k in kinds]
        return style(alt.vconcat(*panels, title=title).resolve_scale(y="independent"), None)
    return style(_by_epoch(df, kind, title, height, loss_kind, colors))
