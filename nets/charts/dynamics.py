"""The layer statistics drawn: per-layer lines, small multiples with a y-axis each, histogram heat maps (PNG).

Lines are Altair charts (nets.plots' rules: Streamlit resends a whole chart on every redraw, so frames
are thinned before they are drawn and the live ones are kept small). The layer × step histogram heat
map ("the colourful dimension" of fastai's ActivationStats) is a PNG drawn with PIL: one strip per
layer, the fixed bins of nets.engine.bins on y, steps on x, log counts, each column scaled to its own
largest bin; as Vega rectangles it would cost about 80 bytes a cell on every redraw.
"""
from __future__ import annotations

import io
import math

import altair as alt
import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from nets.engine.bins import BINS, LOG_HI, LOG_LO, LOG_STEP, scale_of
from nets.engine.stats import UPDATE_RATIO_GOOD, Dynamics, even_indices
from nets.plots import HEIGHT, PALETTE, style

LIVE_LAYERS = 6          # lines on the live panel: the first, the last and evenly between
LIVE_LINE_POINTS = 60    # records per live line: 2 charts × 6 layers × 60 rows, ~33 KB of JSON each a redraw
LIVE_HEIGHT = HEIGHT - 45  # the plot area: the layers' names take two rows above it
MAX_LAYERS = 12          # small multiples and heat-map strips on Runs
MAX_COLUMN_PX = 16       # the widest a heat map's step column is drawn
COLUMNS = ["step", "layer", "value", "run"]
# metric → (what it is, per "layer" (weights) or "site" (activations), y axis: log / log10 / share)
METRICS = {
    "gradient norm": ("grad_norm", "layer", "log"),
    "update ratio": ("update_ratio", "layer", "log10"),
    "weight norm": ("weight_norm", "layer", "log"),
    "activation std": ("act_std", "site", "log"),
    "dead share": ("dead", "site", "share"),
    "saturated share": ("saturated", "site", "share"),
}
Y_TITLES = {"gradient norm": "‖gradient‖ (log scale)", "update ratio": "log10 ‖Δw‖/‖w‖ (dashed: −3)",
            "weight norm": "‖w‖ (log scale)", "activation std": "std of the outputs (log scale)",
            "dead share": "share of units that never fired", "saturated share": "share of units saturated"}
HEATS = {"gradients": ("hist_grad", "layer"), "weights": ("hist_weight", "layer"), "activations": ("hist_act", "site")}
# viridis at ten even points: dark = few values in that bin, yellow = the column's fullest bin
VIRIDIS = np.array([[0x44, 0x01, 0x54], [0x48, 0x28, 0x78], [0x3e, 0x49, 0x89], [0x31, 0x68, 0x8e],
                    [0x26, 0x82, 0x8e], [0x1f, 0x9e, 0x89], [0x35, 0xb7, 0x79], [0x6e, 0xce, 0x58],
                    [0xb5, 0xde, 0x2b], [0xfd, 0xe7, 0x25]], np.float64)


# ----------------------------------------------------------------------------- frames
def names_of(d: Dynamics, per: str) -> list[str]:
    return list(d.layers if per == "layer" else d.sites)


def picked(names: list[str], k: int) -> list[int]:
    """At most k of the layers: the first, the last and evenly between."""
    return [int(i) for i in even_indices(len(names), k)]


def values(d: Dynamics, metric: str) -> np.ndarray:
    """(R, L or S) numbers as the metric's axis shows them (update ratios as log10)."""
    key, _, axis = METRICS[metric]
    v = np.asarray(getattr(d, key), np.float64)
    if axis == "log10":
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.log10(v)
    return v


def metric_frame(d: Dynamics, metric: str, run: str = "", layers: list[int] | None = None) -> pd.DataFrame:
    """Long format (step, layer, value, run) of one metric for the given layer indices (default all).
    Values a log axis cannot show (0, negative, NaN, inf) are left out, not drawn as zero."""
    _, per, axis = METRICS[metric]
    names = names_of(d, per)
    cols = range(len(names)) if layers is None else layers
    v = values(d, metric)
    parts = []
    for j in cols:
        col = v[:, j]
        keep = np.isfinite(col) & ((col > 0) if axis == "log" else True)
        short = [float(f"{x:.4g}") for x in col[keep]]  # 4 digits: the chart's JSON stays short
        parts.append(pd.DataFrame({"step": d.step[keep], "layer": names[j], "value": short, "run": run}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def layer_colors(names: list[str]) -> alt.Color:
    """Each layer its Okabe–Ito colour, in network order, named above the plot (as the epoch charts
    name their splits): below it, the names would leave a 1366×768 screen."""
    return alt.Color("layer:N", title=None, sort=names, scale=alt.Scale(domain=names, range=PALETTE[:len(names)]),
                     legend=alt.Legend(orient="top", direction="horizontal", labelLimit=0, symbolType="stroke",
                                       symbolStrokeWidth=4, columns=min(len(names), 3), columnPadding=8,
                                       rowPadding=2, labelFontSize=13, padding=2))


def _y(metric: str, title: str | None = None) -> alt.Y:
    axis = METRICS[metric][2]
    title = title if title is not None else Y_TITLES[metric]
    if axis == "log":
        return alt.Y("value:Q", title=title, scale=alt.Scale(type="log", zero=False),
                     axis=alt.Axis(format="~e", tickCount=5))
    if axis == "share":
        return alt.Y("value:Q", title=title, scale=alt.Scale(domain=[0, 1], nice=False), axis=alt.Axis(format=".0%"))
    return alt.Y("value:Q", title=title, scale=alt.Scale(zero=False), axis=alt.Axis(format="~g"))


def reference_rule(metric: str, facets: bool = False) -> alt.Chart | None:
    """The dashed line at log10(1e-3) = −3 (an update moving a weight by a thousandth) for update
    ratios; `facets`: drawn once in each facet, from the facet's own rows reduced to one."""
    if METRICS[metric][2] != "log10":
        return None
    good = math.log10(UPDATE_RATIO_GOOD)
    if facets:
        base = alt.Chart().transform_aggregate(n="count()", groupby=["layer"]).transform_calculate(value=str(good))
    else:
        base = alt.Chart(pd.DataFrame({"value": [good]}))
    return base.mark_rule(strokeDash=[6, 4], color="#555555", strokeWidth=2).encode(y=alt.Y("value:Q"))


# ----------------------------------------------------------------------------- charts
def layer_lines(d: Dynamics, metric: str, title: str, height: int = LIVE_HEIGHT, k: int = LIVE_LAYERS,
                points: int = LIVE_LINE_POINTS) -> alt.Chart:
    """One line per layer (at most k, colours in network order) against the training step: the live
    panel's chart, as tall in all as the epoch charts beside it (its legend takes two rows)."""
    _, per, _ = METRICS[metric]
    names = names_of(d, per)
    cols = picked(names, k)
    shown = [names[j] for j in cols]
    frame = metric_frame(d.thinned(points, 0), metric, layers=cols).drop(columns="run")
    lines = (alt.Chart(frame).mark_line(strokeWidth=2.5, clip=True)
             .encode(x=alt.X("step:Q", title=None, axis=alt.Axis(format=",d")),  # the title says "by step"
                     y=_y(metric), color=layer_colors(shown),
                     tooltip=[alt.Tooltip("layer:N"), alt.Tooltip("step:Q"), alt.Tooltip("value:Q", format=".3~g")]))
    rule = reference_rule(metric)
    chart = lines + rule if rule is not None else lines
    return style(chart.properties(title=title, height=height))


def small_multiples(frame: pd.DataFrame, metric: str, layers: list[str], runs: list[str], title: str = "",
                    width: int = 360, height: int = 110, columns: int = 2) -> alt.Chart:
    """One small chart per layer, each with its own y-axis (a gradient that shrinks looks like it
    shrinks, whatever the other layers do), colour = run when there are two."""
    several = len(runs) > 1
    runs = sorted(runs)  # the palette in Vega's order of names, as the page's training curves colour runs
    color = (alt.Color("run:N", title=None, sort=runs, scale=alt.Scale(domain=runs, range=PALETTE[:len(runs)]),
                       legend=alt.Legend(orient="top", direction="vertical", labelLimit=0, symbolType="stroke",
                                         symbolStrokeWidth=4))
             if several else alt.ColorValue(PALETTE[0]))
    lines = alt.Chart().mark_line(strokeWidth=2, clip=True).encode(
        x=alt.X("step:Q", title="training step", axis=alt.Axis(format=",d")), y=_y(metric, ""),
        color=color, tooltip=[alt.Tooltip("run:N"), alt.Tooltip("layer:N"), alt.Tooltip("step:Q"),
                              alt.Tooltip("value:Q", format=".3~g")])
    layer = [lines.properties(width=width, height=height)]
    if (rule := reference_rule(metric, facets=True)) is not None:
        layer.append(rule)
    chart = (alt.layer(*layer, data=frame)
             .facet(facet=alt.Facet("layer:N", sort=layers, title=None,
                                    header=alt.Header(labelFontSize=15, labelFontWeight="bold")),
                    columns=columns, title=alt.TitleParams(title or Y_TITLES[metric], subtitle=(
                        "each layer its own y-axis" + (" · dashed: −3" if METRICS[metric][2] == "log10" else "")),
                        subtitleFontSize=14))
             .resolve_scale(y="independent"))
    return style(chart, None)


# ----------------------------------------------------------------------------- the heat map (PNG)
def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def shades(counts: np.ndarray) -> np.ndarray:
    """(..., BINS) counts → (..., BINS) 0..1: log counts, each histogram scaled to its fullest bin."""
    c = np.log1p(np.asarray(counts, np.float64))
    top = c.max(axis=-1, keepdims=True)
    return np.divide(c, top, out=np.zeros_like(c), where=top > 0)


def viridis(v: np.ndarray) -> np.ndarray:
    """0..1 → uint8 RGB on viridis."""
    x = np.clip(v, 0, 1) * (len(VIRIDIS) - 1)
    lo = np.floor(x).astype(int).clip(0, len(VIRIDIS) - 2)
    t = (x - lo)[..., None]
    return np.round(VIRIDIS[lo] * (1 - t) + VIRIDIS[lo + 1] * t).astype(np.uint8)


def bin_labels(kind: str) -> list[tuple[float, str]]:
    """(position in bins from the bottom, text) for a strip's right-hand axis."""
    if scale_of(kind) == "linear":
        lo, hi = (-1, 1) if kind == "tanh" else (0, 1)
        return [(0.0, f"{lo:g}"), (BINS / 2, f"{(lo + hi) / 2:g}"), (float(BINS), f"{hi:g}")]
    at = lambda e: 2 + (e - LOG_LO) / LOG_STEP  # noqa: E731 (the lower edge of |x| = 10^e)
    return [(at(LOG_LO), f"1e{LOG_LO:.0f}"), (at(-6), "1e-6"), (at(-2), "0.01"), (at(LOG_HI), f"1e{LOG_HI:.0f}")]


def heat_png(d: Dynamics, which: str = "gradients", layers: list[int] | None = None, width: int = 640,
             title: str = "", columns: int | None = None) -> bytes:
    """The layer × step heat map of one kind of histogram ('gradients', 'weights', 'activations') as
    a PNG: a strip per layer (names on the left, bins on the right), a column per histogram row,
    whole pixels wide, steps below. `columns`: thin the rows evenly to at most this many first."""
    key, per = HEATS[which]
    names = names_of(d, per)
    kinds = list(d.layer_kinds if per == "layer" else d.site_kinds)
    cols = list(range(len(names))) if layers is None else list(layers)
    rows = np.arange(len(d.hist_step)) if columns is None else even_indices(len(d.hist_step), columns)
    hist, steps = getattr(d, key)[rows][:, cols], d.hist_step[rows]
    font, small = _font(14), _font(12)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = min(200, max([int(measure.textlength(names[j], font=font)) for j in cols] + [40])) + 12
    n, bin_px = max(len(steps), 1), (2 if len(cols) <= MAX_LAYERS else 1)
    col_px = max(1, min(MAX_COLUMN_PX, width // n))  # early in a run the map grows to the right
    strip, gap, top, right = BINS * bin_px, 8, 26 if title else 6, 54
    plot_w = n * col_px
    im = Image.new("RGB", (label_w + plot_w + right, top + len(cols) * (strip + gap) + 40), "white")
    draw = ImageDraw.Draw(im)
    while len(title) > 1 and draw.textlength(title, font=font) > im.width - label_w - 4:
        title = title[:-2] + "…"  # a long run name, cut at the picture's edge
    if title:
        draw.text((label_w, 4), title, fill="black", font=font)
    for i, j in enumerate(cols):
        y0 = top + i * (strip + gap)
        if len(steps):
            rgb = viridis(shades(hist[:, i, ::-1]).T)  # (BINS, n, 3), the largest bin on top
            picture = np.repeat(np.repeat(rgb, bin_px, axis=0), col_px, axis=1)
            im.paste(Image.fromarray(picture, "RGB"), (label_w, y0))
        name = names[j] if measure.textlength(names[j], font=font) <= label_w - 12 else names[j][:18] + "…"
        draw.text((label_w - 6, y0 + strip / 2), name, anchor="rm", font=font, fill="black")
        last = None
        for pos, text in bin_labels(kinds[j] if per == "site" else "log"):
            y = y0 + strip - pos * bin_px
            if last is not None and last - y < 13:  # a narrow strip: labels that would touch are left out
                continue
            last = y
            draw.line([label_w + plot_w, y, label_w + plot_w + 3, y], fill="black")
            draw.text((label_w + plot_w + 5, y), text, anchor="lm", font=small, fill="#333333")
    y_axis = top + len(cols) * (strip + gap) - gap + 2
    for t in even_indices(len(steps), 5 if plot_w >= 300 else 3):
        x = label_w + int(t) * col_px + col_px // 2
        draw.line([x, y_axis, x, y_axis + 4], fill="black")
        draw.text((x, y_axis + 6), f"{int(steps[t]):,}", anchor="mt", font=small, fill="black")
    draw.text((label_w + plot_w / 2, y_axis + 22), "training step", anchor="mt", font=small, fill="black")
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()
