"""The Feature projector's widgets and what they read (not a page): the method and its parameters, the
stored features and projections (a projector job computes them: pages._projector_job), the scatter and
the clicked point's image, top 5 and Grad-CAM, the epoch slider and purity curve."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from nets.charts.projector import SELECTION, domain, image_uri, purity_chart, purity_frame, scatter, scatter_frame
from nets.engine.models import is_convolutional
from nets.inspect.attribution import grad_cam, overlay
from nets.inspect.features import Features
from nets.inspect.pictures import to_display
from nets.inspect.prediction import Prediction
from nets.inspect.projection import METHODS, TITLES, missing_reason
from nets.runs import CheckpointError, Run, get_run
from nets.runs.epoch_features import SUBSET, feature_epochs
from nets.runs.epoch_layouts import EpochLayouts, load_layouts, run_layouts
from nets.runs.features_cache import PURITY_K as K
from nets.runs.features_cache import load_features, load_projection, load_purity
from nets.text import plain
from pages._cached import run_dataset, run_model
from pages._projector_job import computed_ui
from pages._widgets import picture, top_k_table

# The hover image: vega-tooltip draws it at its own size (28 px); shown larger, with square pixels.
TOOLTIP_CSS = ("<style>#vg-tooltip-element img{width:150px;height:150px;image-rendering:pixelated;}"
               "#vg-tooltip-element{font-size:15px;}</style>")
DRAWN = (1000, 2000, 5000, 10000)  # points drawn (each carries its image): all are projected
POINT_PX = 140                      # the clicked image and its Grad-CAM, side by side
COLOUR_BY = {"true": "true class", "predicted": "prediction"}


@dataclass(frozen=True)
class Choice:
    method: str
    params: tuple           # sorted (name, value) pairs: a cache key
    colour_by: str          # "true" or "predicted"
    drawn: int


def _params_ui(method: str, key: str) -> tuple:
    if method == "umap":
        a, b = st.columns(2)
        n = a.slider("Neighbours", 5, 100, 15, 5, key=f"{key}_nn",
                     help="UMAP's n_neighbors: few keep small clusters apart, many show the big picture.")
        d = b.slider("Minimum distance", 0.0, 0.9, 0.1, 0.05, key=f"{key}_md",
                     help="UMAP's min_dist: how tightly points may pack together.")
        return (("min_dist", float(d)), ("n_neighbors", int(n)), ("seed", 0))
    if method == "tsne":
        p = st.slider("Perplexity", 5, 100, 30, 5, key=f"{key}_perp",
                      help="t-SNE's perplexity: about how many neighbours each point keeps close.")
        return (("perplexity", float(p)), ("seed", 0))
    return ()


def _method_ui(key: str) -> str:
    """PCA, UMAP or t-SNE; PCA, with the sentence that says what to install, when the package is missing."""
    method = st.radio("Projection", METHODS, format_func=TITLES.get, horizontal=True, key=f"{key}_method")
    if (reason := missing_reason(method)) is not None:
        st.warning(plain(reason) + " — showing PCA.")
        method = "pca"
    return method


def controls_ui(n_points: int | None) -> Choice:
    """Projection, colour and points drawn in one row; the method's parameters (UMAP, t-SNE) beside the scatter.
    `n_points`: the test images with stored features (None: not computed yet)."""
    m, c, d = st.columns([1.5, 1.3, 1.1])
    with m:
        method = _method_ui("proj")
    colour_by = c.radio("Colour by", list(COLOUR_BY), format_func=COLOUR_BY.get, horizontal=True, key="proj_colour")
    options = list(DRAWN) if n_points is None else [n for n in DRAWN if n < n_points] + [n_points]
    drawn = d.selectbox("Points drawn", options, index=min(1, len(options) - 1), format_func="{:,}".format,
                        key="proj_drawn", help="All test images are projected; the first ones are drawn, each "
                                               "with its image for the hover.")
    return Choice(method, (), colour_by, drawn)


def params_ui(choice: Choice) -> Choice:
    """The chosen method's parameters (none for PCA)."""
    return Choice(choice.method, _params_ui(choice.method, "proj"), choice.colour_by, choice.drawn)


# ------------------------------------------------------------------------------ what is stored
# Read only: a projector job (pages._projector_job) computes and stores, these read the files back.
def _key(run: Run) -> tuple[str, str, str]:
    return str(run.path.parent), run.id, run.weights_file


def _gone(what: str) -> CheckpointError:  # raised, not returned: a missing file is never cached
    return CheckpointError(f"The run's stored {what} could not be read; reload the page to compute it again.")


@st.cache_resource(show_spinner=False, max_entries=8)
def _features(root: str, run_id: str, weights_file: str) -> Features:
    if (f := load_features(get_run(root, run_id))) is None:
        raise _gone("features")
    return f


def features(run: Run) -> Features:
    """Every test image's penultimate features under the run's best weights (stored with the run)."""
    return _features(*_key(run))


@st.cache_data(show_spinner=False, max_entries=32)
def _projection(root: str, run_id: str, weights_file: str, method: str, params: tuple) -> np.ndarray:
    if (xy := load_projection(get_run(root, run_id), method, **dict(params))) is None:
        raise _gone("projection")
    return xy


def stored_count(run: Run) -> int | None:
    """How many test images have stored features; None before a job computed them."""
    try:
        return len(features(run))
    except CheckpointError:
        return None


def classes_of(run: Run) -> list[str]:
    return run.info.get("classes") or [str(i) for i in range(int(run.info.get("num_classes", 10)))]


def projection(run: Run, choice: Choice) -> np.ndarray:
    return _projection(*_key(run), choice.method, choice.params)


@st.cache_data(show_spinner=False, max_entries=32)
def _purity(root: str, run_id: str, weights_file: str) -> float:
    if (p := load_purity(get_run(root, run_id), K)) is None:
        raise _gone("kNN purity")
    return p


def purity(run: Run) -> float:
    return _purity(*_key(run))


@st.cache_data(show_spinner="Preparing the hover images…", max_entries=16)
def _image_uris(root: str, run_id: str, weights_file: str, n: int) -> list[str]:
    x = run_dataset(get_run(root, run_id)).x_test[:n].numpy()
    return [image_uri(im) for im in x]


def image_uris(run: Run, n: int) -> list[str]:
    return _image_uris(*_key(run), n)


@st.cache_data(show_spinner="Computing Grad-CAM…", max_entries=64)
def _grad_cam(root: str, run_id: str, weights_file: str, index: int, target: int) -> np.ndarray:
    run = get_run(root, run_id)
    data, info = run_dataset(run), run.info
    x = data.x_test[index:index + 1].float().div(info.get("scale", data.scale))
    mean = torch.tensor(info.get("mean") or data.mean).view(1, -1, 1, 1)
    std = torch.tensor(info.get("std") or data.std).view(1, -1, 1, 1)
    return grad_cam(run_model(run), (x - mean) / std, target)


@st.cache_data(show_spinner="Projecting every epoch's features…", max_entries=16)
def _epoch_layouts(root: str, run_id: str, epochs: tuple, method: str, params: tuple) -> EpochLayouts:
    """PCA of the 1,000-image subset takes milliseconds an epoch: made here (and stored); UMAP's and
    t-SNE's were stored by a projector job."""
    run = get_run(root, run_id)
    lay = run_layouts(run, method, **dict(params)) if method == "pca" else load_layouts(run, method, **dict(params))
    if lay is None:
        raise _gone("layouts")
    return lay


# ------------------------------------------------------------------------------ drawing
def draw_scatter(run: Run, f: Features, xy: np.ndarray, choice: Choice) -> int | None:
    """The scatter of the first `drawn` points; returns the clicked point's test index, or None."""
    n = min(choice.drawn, len(xy))
    df = scatter_frame(xy[:n], f.labels[:n], f.predictions[:n], f.classes, choice.colour_by, image_uris(run, n))
    title = (f"{len(xy):,} test images by {TITLES[choice.method]} of their last hidden layer"
             + (f" (the first {n:,} drawn)" if n < len(xy) else ""))
    chart = scatter(df, f.classes, COLOUR_BY[choice.colour_by], title, domains=domain(xy[:n]))
    st.html(TOOLTIP_CSS)
    return _picked(st.altair_chart(chart, on_select="rerun", selection_mode=SELECTION, key="proj_scatter",
                                   width="stretch"))


def _picked(event) -> int | None:
    """The test index of the point the click selected, or None."""
    picked = (event.selection.get(SELECTION) or []) if event else []
    return int(picked[0]["index"]) if picked and "index" in picked[0] else None


def draw_scores(run: Run, f: Features) -> None:
    a, b = st.columns(2)
    a.metric("kNN purity", f"{purity(run):.1%}",
             help=f"How often a test image's {K} nearest neighbours (k = {K}) in the features share its class: 100% "
                  f"when the classes lie apart, about 1/{len(f.classes)} when they are mixed.")
    b.metric("Test accuracy", f"{f.accuracy:.1%}")


def draw_point(run: Run, f: Features, index: int | None) -> None:
    """The clicked test image beside its Grad-CAM (a conv net, for the prediction), then its top 5."""
    if index is None or not 0 <= index < len(f):
        st.info("Hover over a point to see its image; click it for its top 5 and, for a convolutional "
                "network, Grad-CAM.")
        return
    image = to_display(run_dataset(run).x_test[index].numpy())
    true, pred = f.classes[int(f.labels[index])], f.classes[int(f.predictions[index])]
    a, b = st.columns(2)
    with a:
        picture(image, f"Test image #{index}: {true}", px=POINT_PX, width="stretch")
    if is_convolutional(run_model(run)):
        heat = _grad_cam(*_key(run), index, int(f.predictions[index]))
        with b:
            picture(overlay(image, heat), f"Grad-CAM for {pred}", px=POINT_PX, width="stretch")
    top_k_table([Prediction(int(i), f.classes[int(i)], float(p)) for i, p in zip(f.top5[index], f.top5_p[index])])


def draw_epochs(run: Run, classes: list[str], colour_by: str) -> None:
    """The epoch slider: the subset's features at each epoch (aligned layouts), purity beside accuracy."""
    st.subheader("Over training")
    epochs = feature_epochs(run)
    if not epochs:
        st.caption("This run kept no per-epoch features (runs trained before the projector existed, or "
                   "heads on frozen features).")
        return
    m, p = st.columns([1.3, 3.3])
    with m:
        method = _method_ui("proj_ep")
    with p:
        params = _params_ui(method, "proj_ep")
    st.caption(f"The first {SUBSET:,} test images (or all, when fewer): their features saved at the end of "
               "each epoch, each epoch's layout turned to match the one before (Procrustes), so points move "
               "only as much as the features do.")
    if method != "pca" and not computed_ui(run, "epochs", method, params):
        return
    lay = _epoch_layouts(*_key(run)[:2], tuple(epochs), method, params)
    if not lay.epochs:
        st.caption("No readable per-epoch features.")
        return
    shown = lay.epochs
    epoch = (st.select_slider("Epoch", options=shown, value=shown[-1], key="proj_epoch") if len(shown) > 1
             else shown[0])
    i = shown.index(epoch)
    left, right = st.columns([3, 2])
    xy, labels, preds = lay.xy[i], lay.labels[i], lay.predictions[i]
    df = scatter_frame(xy, labels, preds, classes, colour_by, image_uris(run, len(xy)))
    with left:
        st.altair_chart(scatter(df, classes, COLOUR_BY[colour_by],
                                f"Epoch {epoch}: {len(xy):,} test images by {TITLES[method]}", height=440,
                                domains=domain(np.concatenate(lay.xy)), selectable=False), width="stretch")
    with right:
        st.altair_chart(purity_chart(purity_frame(shown, lay.purity, run.info.get("history", [])), epoch),
                        width="stretch")
        st.metric(f"kNN purity at epoch {epoch}", f"{lay.purity[i]:.1%}")

