"""The feature projector's charts: the 2-D scatter of test images (class colours, mistakes as crosses, the
image on hover, a click selects) and the kNN purity per epoch beside the test accuracy."""
from __future__ import annotations

import base64
import io

import altair as alt
import numpy as np
import pandas as pd
from PIL import Image

from nets.inspect.pictures import to_display
from nets.plots import FONT, HEIGHT, PALETTE, style

SCATTER_HEIGHT = 400     # pixels: the scatter is the page; it fills a 1366×768 screen below the controls
SELECTION = "pick"       # the name of the click selection (st.altair_chart's event.selection[SELECTION])
# Okabe–Ito's eight (yellow last), then grey and wine (Tol) for the ninth and tenth class; more classes
# than that take Vega's tableau20.
CLASS_COLOURS = PALETTE[:7] + ["#999999", "#882255", PALETTE[7]]
OUTCOMES = {"right": "circle", "wrong": "cross"}


def image_uri(image_chw: np.ndarray) -> str:
    """One uint8 C×H×W image as a PNG data URI (the tooltip shows it; CSS enlarges it with square pixels)."""
    buf = io.BytesIO()
    Image.fromarray(to_display(np.asarray(image_chw, dtype=np.uint8))).save(buf, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def scatter_frame(xy: np.ndarray, labels, predictions, classes: list[str], colour_by: str = "true",
                  images: list[str] | None = None, index=None) -> pd.DataFrame:
    """One row per point: x, y, its test index, true and predicted class names, 'class' (the colour:
    the true or the predicted class), outcome (right/wrong) and, when given, its image's data URI."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    names = np.array([str(c) for c in classes], dtype=object)
    df = pd.DataFrame({"x": np.asarray(xy[:, 0], dtype=np.float64), "y": np.asarray(xy[:, 1], dtype=np.float64),
                       "index": np.arange(len(xy)) if index is None else np.asarray(index),
                       "true": names[labels], "predicted": names[predictions]})
    df["class"] = df["predicted"] if colour_by == "predicted" else df["true"]
    df["outcome"] = np.where(labels == predictions, "right", "wrong")
    df["wrong"] = labels != predictions
    if images is not None:
        df["image"] = images
    return df


def domain(xy: np.ndarray, pad: float = 0.05) -> tuple[list[float], list[float]]:
    """x and y domains holding every point with a margin: fixed across epochs, the view does not jump."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    xy = xy[np.isfinite(xy).all(1)]
    if not len(xy):
        return [0.0, 1.0], [0.0, 1.0]
    lo, hi = xy.min(0), xy.max(0)
    span = np.maximum(hi - lo, 1e-9)
    return [float(lo[0] - pad * span[0]), float(hi[0] + pad * span[0])], \
        [float(lo[1] - pad * span[1]), float(hi[1] + pad * span[1])]


def _colour(classes: list[str], title: str) -> alt.Color:
    names = [str(c) for c in classes]
    scale = (alt.Scale(domain=names, range=CLASS_COLOURS[:len(names)]) if len(names) <= len(CLASS_COLOURS)
             else alt.Scale(domain=names, scheme="tableau20"))
    return alt.Color("class:N", scale=scale, title=title,
                     legend=alt.Legend(symbolSize=220, labelFontSize=FONT + 2, titleFontSize=FONT + 1,
                                       symbolType="circle", columns=1 if len(names) <= 12 else 2))


def scatter(df: pd.DataFrame, classes: list[str], colour_title: str = "true class", title: str = "",
            height: int = SCATTER_HEIGHT, domains: tuple[list[float], list[float]] | None = None,
            selectable: bool = True, point_size: int = 40) -> alt.Chart:
    """The points coloured by class, mistakes drawn as crosses; hovering shows the image and both
    classes; a click selects one point (the others fade). Axes carry no units: only distances mean anything."""
    xs, ys = domains or domain(df[["x", "y"]].to_numpy())
    axis = alt.Axis(labels=False, ticks=False, grid=False, title=None)
    tooltip = ([alt.Tooltip("image:N", title="image")] if "image" in df else []) + [
        alt.Tooltip("true:N", title="true class"), alt.Tooltip("predicted:N", title="predicted"),
        alt.Tooltip("index:Q", title="test image #")]
    enc = dict(
        x=alt.X("x:Q", scale=alt.Scale(domain=xs, nice=False, zero=False), axis=axis),
        y=alt.Y("y:Q", scale=alt.Scale(domain=ys, nice=False, zero=False), axis=axis),
        color=_colour(classes, colour_title),
        shape=alt.Shape("outcome:N", scale=alt.Scale(domain=list(OUTCOMES), range=list(OUTCOMES.values())),
                        title="prediction", legend=alt.Legend(symbolSize=220, labelFontSize=FONT + 2,
                                                              symbolFillColor="#555", symbolStrokeColor="#555")),
        # mistakes drawn larger; a field of its own, or Vega-Lite would merge (and hide) the shape legend
        size=alt.Size("wrong:N", scale=alt.Scale(domain=[False, True], range=[point_size, point_size * 2.5]),
                      legend=None),
        tooltip=tooltip,
    )
    chart = alt.Chart(df).mark_point(filled=True, opacity=0.8, strokeWidth=0)
    props = {"height": height, **({"title": title} if title else {})}
    if not selectable:
        return style(chart.encode(**enc).properties(**props))
    pick = alt.selection_point(name=SELECTION, fields=["index"], on="click", clear="dblclick", empty=True)
    enc["opacity"] = alt.condition(pick, alt.value(0.85), alt.value(0.3))
    # a ring around the clicked point (none while nothing is clicked: the empty selection selects nothing here)
    ring = (alt.Chart(df).mark_point(shape="circle", filled=False, size=point_size * 12, strokeWidth=3, color="#000")
            .encode(x="x:Q", y="y:Q").transform_filter({"param": SELECTION, "empty": False}))
    return style(alt.layer(chart.encode(**enc).add_params(pick), ring).properties(**props))


def purity_frame(epochs: list[int], purity: list[float], history: list[dict]) -> pd.DataFrame:
    """Long rows (epoch, measure, value): the kNN purity of the subset's features and the test accuracy."""
    rows = [{"epoch": e, "measure": "kNN purity (features)", "value": p} for e, p in zip(epochs, purity)]
    rows += [{"epoch": int(h["epoch"]), "measure": "test accuracy", "value": float(h["test_acc"])}
             for h in history if h.get("test_acc") is not None]
    return pd.DataFrame(rows, columns=["epoch", "measure", "value"])


def purity_chart(df: pd.DataFrame, epoch: int | None = None, height: int = HEIGHT) -> alt.Chart:
    """Purity and test accuracy against the epoch (both fractions, one axis), the shown epoch marked."""
    lo = float(min(df["value"].min(), 1.0)) if len(df) else 0.0
    lo = max(0.0, np.floor(lo * 10) / 10 - (0.1 if lo > 0.9 else 0))
    measures = ["kNN purity (features)", "test accuracy"]
    colour = alt.Color("measure:N", scale=alt.Scale(domain=measures, range=[PALETTE[1], PALETTE[0]]), title=None,
                       legend=alt.Legend(orient="bottom", labelFontSize=FONT + 1, symbolStrokeWidth=4))
    epochs = sorted(df["epoch"].unique()) if len(df) else [1]
    line = alt.Chart(df).mark_line(point=alt.OverlayMarkDef(size=70), strokeWidth=3).encode(
        x=alt.X("epoch:Q", scale=alt.Scale(domain=[min(epochs), max(max(epochs), min(epochs) + 1)]),
                axis=alt.Axis(values=[int(e) for e in epochs] if len(epochs) <= 20 else alt.Undefined,
                              format="d", title="epoch")),
        y=alt.Y("value:Q", scale=alt.Scale(domain=[lo, 1.0]), axis=alt.Axis(format="%", title=None)),
        color=colour, tooltip=["epoch:Q", "measure:N", alt.Tooltip("value:Q", format=".1%")])
    layers = [line]
    if epoch is not None:
        layers.append(alt.Chart(pd.DataFrame({"epoch": [epoch]})).mark_rule(strokeDash=[4, 3], color="#555",
                                                                              strokeWidth=2).encode(x="epoch:Q"))
    return style(alt.layer(*layers).properties(height=height, title="Classes apart in the features, per epoch"))
