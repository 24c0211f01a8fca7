"""The learning-rate finder's chart: raw (faint) and smoothed loss against the rate on a log axis, the four suggestions marked, their span shaded.

The rate offered (nets.coach.lr_suggest.best: the middle of valley, minimum and steep, so always one of
the marked rates) is drawn heavier and labelled "◀ use".

nets.plots' rules: at least HEIGHT pixels, large fonts, the Okabe–Ito palette, a y-axis that never
zooms into noise. The loss blows up at the end of a range test (that is where it stops), so the
y-axis is cut at the start's level, not the blow-up's: the part a student chooses from stays readable.
Each suggestion's label sits on its own row at the top, so rules that nearly agree do not overwrite
each other's labels. No Streamlit here.
"""
from __future__ import annotations

import math

import altair as alt
import pandas as pd

from nets.coach.lr_suggest import fmt_lr
from nets.plots import HEIGHT, PALETTE, style, value_axis

RULES = ("valley", "slide", "minimum", "steep")   # nets.coach.lr_suggest's rules, in the order drawn
RULE_COLORS = dict(zip(RULES, PALETTE[1:5]))
RAW, SMOOTH = "loss (faint: each step)", "smoothed loss"
ROW_PX = 19                                         # one label row at the top of the plot
BAND_COLOR = "#999999"
SPAN = (1e-7, 10.0)                                 # range_test's rates: the x-axis from the first step, so a live curve grows rightwards


def _finite(v) -> bool:
    return v is not None and math.isfinite(v)


def points_frame(lrs, losses, smooth) -> pd.DataFrame:
    """Long form (lr, series, loss) of the finite points with a positive rate."""
    rows = [(lr, RAW, raw) for lr, raw in zip(lrs, losses) if _finite(raw) and lr > 0]
    rows += [(lr, SMOOTH, s) for lr, s in zip(lrs, smooth) if _finite(s) and lr > 0]
    return pd.DataFrame(rows, columns=["lr", "series", "loss"])


def loss_domain(smooth, losses) -> list[float] | None:
    """The y-axis: from the lowest smoothed loss to the start's level (with room), the blow-up cut off."""
    s = [v for v in smooth if _finite(v)]
    raw = [v for v in losses if _finite(v)]
    if not s:
        return None
    start = max(s[: max(3, len(s) // 10)])
    top = max(start, min(s)) * 1.15
    bottom = min([*s, *[v for v in raw if v <= top]])
    domain, _, _ = value_axis([bottom, top], "loss")
    return domain


def decades(lrs) -> list[float]:
    """Whole powers of ten across the rates and SPAN: the x-axis's ticks."""
    pos = [lr for lr in (*lrs, *SPAN) if lr > 0]
    if not pos:
        return []
    lo, hi = math.floor(math.log10(min(pos)) + 1e-9), math.ceil(math.log10(max(pos)) - 1e-9)
    step = 1 if hi - lo <= 8 else 2
    return [10.0 ** k for k in range(lo, hi + 1, step)]


def lrfind_chart(lrs, losses, smooth, suggestions: dict | None = None, band: tuple | None = None,
                 best: float | None = None, title: str = "Loss against the learning rate",
                 height: int = HEIGHT) -> alt.LayerChart:
    """The curve so far (live) or finished with its suggestions (rule → lr or None), the span where they
    disagree shaded (`band`: lo, hi), and the rate offered (`best`, the middle rule's) drawn heavier."""
    df = points_frame(lrs, losses, smooth)
    ticks = decades(lrs)
    x_scale = alt.Scale(type="log", domain=[ticks[0], ticks[-1]], nice=False)
    x = alt.X("lr:Q", title="learning rate (log scale)", scale=x_scale,
              axis=alt.Axis(values=ticks, labelExpr="format(datum.value, '.0e')", grid=True))
    domain = loss_domain(smooth, losses)
    y_scale = alt.Scale(domain=domain, nice=False, zero=False) if domain else alt.Scale(zero=False)
    color = alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom", symbolType="stroke"),
                      scale=alt.Scale(domain=[RAW, SMOOTH], range=["#9a9a9a", PALETTE[0]]))
    lines = (alt.Chart(df).mark_line(clip=True)
             .encode(x=x, y=alt.Y("loss:Q", title="training loss", scale=y_scale), color=color,
                     opacity=alt.condition(alt.datum.series == RAW, alt.value(0.55), alt.value(1.0)),
                     strokeWidth=alt.condition(alt.datum.series == RAW, alt.value(1.5), alt.value(3.0)),
                     tooltip=[alt.Tooltip("series:N"), alt.Tooltip("lr:Q", format=".1e"),
                              alt.Tooltip("loss:Q", format=".4f")]))
    layers = []
    if band and band[0] and band[1] and band[1] > band[0]:
        shade = pd.DataFrame([{"lo": band[0], "hi": band[1]}])
        layers.append(alt.Chart(shade).mark_rect(color=BAND_COLOR, opacity=0.18)
                      .encode(x=alt.X("lo:Q", scale=x_scale), x2="hi:Q"))
    layers.append(lines)
    marks = rules_frame(suggestions or {}, best)
    if not marks.empty:
        rule_color = alt.Color("rule:N", scale=alt.Scale(domain=list(RULES), range=[RULE_COLORS[r] for r in RULES]),
                               legend=None)
        layers.append(alt.Chart(marks).mark_rule(strokeDash=[6, 4])
                      .encode(x=alt.X("lr:Q", scale=x_scale), color=rule_color,
                              strokeWidth=alt.StrokeWidth("width:Q", legend=None, scale=None),
                              tooltip=[alt.Tooltip("rule:N"), alt.Tooltip("text:N", title="rate")]))
        middle = math.sqrt(ticks[0] * ticks[-1])  # labels right of the middle read leftwards: none leaves the plot
        for side, dx, keep in (("left", 5, marks["lr"] <= middle), ("right", -5, marks["lr"] > middle)):
            if keep.any():
                layers.append(alt.Chart(marks[keep]).mark_text(align=side, dx=dx, fontSize=14, fontWeight="bold")
                              .encode(x=alt.X("lr:Q", scale=x_scale), y=alt.Y("row_px:Q", scale=None, axis=None),
                                      text="label:N", color=rule_color))
    chart = alt.layer(*layers, title=title).resolve_scale(color="independent").properties(height=max(height, HEIGHT))
    return style(chart)


def rules_frame(suggestions: dict, best: float | None = None) -> pd.DataFrame:
    """One row per rule with a rate: where its rule and its label (own row from the top) go."""
    rows = []
    for i, rule in enumerate(r for r in RULES if suggestions.get(r)):
        lr = float(suggestions[rule])
        chosen = best is not None and math.isclose(lr, best, rel_tol=1e-9)
        rows.append({"rule": rule, "lr": lr, "text": fmt_lr(lr), "row_px": 10 + ROW_PX * i,
                     "label": f"{rule} {fmt_lr(lr)}{' ◀ use' if chosen else ''}", "width": 3.5 if chosen else 2.0})
    return pd.DataFrame(rows, columns=["rule", "lr", "text", "row_px", "label", "width"])
