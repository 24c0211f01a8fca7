"""Classify an image: a saved run's model on an uploaded, bundled or drawn picture, with every
preprocessing step, the exact input tensor, the top-5, an attribution map and a robustness probe."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from torch import nn

from nets.inspect.attribution import METHODS, attribute, heat_colours, overlay
from nets.inspect.imageio import ImageError, LoadedImage
from nets.inspect.pictures import to_display
from nets.inspect.prediction import Prediction, logits, probabilities, top_k
from nets.inspect.preprocess import Prepared, baseline, normalise, perturb, preprocess, style_for
from nets.runs import CheckpointError, Run, RunFilter, get_run
from nets.text import plain
from pages._common import ensure_app_entry
from pages._cached import run_model
from pages._runpick import run_picker_ui
from pages._upload_ui import decode_image, upload_image_ui
from pages._widgets import picture, prediction_metric, top_k_table

ASSETS = Path(__file__).resolve().parent.parent / "assets"
LESSON, SAMPLES = ASSETS / "classify.md", ASSETS / "samples"
DEFAULT_RUN, DEFAULT_SAMPLE = "lenet-mnist-mini", "photo-3.png"
SOURCES = ("Bundled sample", "Upload", "Draw")
SOURCE_KEY, SAMPLE_KEY = "classify_source", "classify_sample"  # plain keys: they survive page switches
RUN_KEY = "classify_run"  # the picker's widget; the run itself is remembered in `selected_run`
CANVAS_PX = 250  # the whole canvas and the answer beside it fit a 1366×768 screen
STEP_PX = 160   # the preprocessing steps are drawn about this wide, side by side


# ------------------------------------------------------------------------------ choices
def remembered(key: str, options: list, default) -> int:
    value = st.session_state.get(key, default)
    return options.index(value) if value in options else (options.index(default) if default in options else 0)


def run_ui() -> Run:
    # images=True: a head on frozen features cannot take a picture
    return run_picker_ui("Saved run", RUN_KEY, RunFilter(has_model=True, images=True), DEFAULT_RUN,
                         "No saved run has a trained model yet: train one on the Train page first.")


def canvas_bytes() -> bytes | None:
    try:
        # Imported here: the component registers itself on import, which fails outside a running server.
        from streamlit_drawable_canvas import st_canvas
    except Exception:  # noqa: BLE001 - any failure to register the component means: no canvas here
        st.warning("The drawing canvas is not available here; upload an image or pick a sample instead.")
        return None
    result = st_canvas(stroke_width=20, stroke_color="#FFFFFF", background_color="#000000", height=CANVAS_PX,
                       width=CANVAS_PX, drawing_mode="freedraw", return_image_data=True, key="classify_canvas")
    return result.image_bytes


def image_ui() -> tuple[LoadedImage, str] | None:
    """The chosen picture, decoded; None while nothing is drawn yet; stops the page with a plain message
    when an upload is missing or unreadable."""
    source = st.radio("Image", SOURCES, index=remembered(SOURCE_KEY, list(SOURCES), SOURCES[0]),
                      horizontal=True, label_visibility="collapsed")  # the section's title says it
    st.session_state[SOURCE_KEY] = source
    if source == "Bundled sample":
        names = sorted(p.name for p in SAMPLES.glob("*.png"))
        name = st.selectbox("Sample", names, index=remembered(SAMPLE_KEY, names, DEFAULT_SAMPLE))
        st.session_state[SAMPLE_KEY] = name
        data = (SAMPLES / name).read_bytes()
    elif source == "Upload":
        return upload_image_ui()
    else:
        name = "drawing.png"
        data = canvas_bytes()
        if not data:
            return None
    try:
        return decode_image(data, name), name
    except ImageError as e:
        st.error(plain(f"{name}: {e}"))
        st.stop()


def model_input_ui(run: Run, loaded: LoadedImage) -> tuple[nn.Module, Prepared]:
    """The run's model and the picture prepared as its input; stops the page with the reason on failure."""
    shape = run.info["input_shape"]
    try:
        return run_model(run), preprocess(loaded.image, shape, run.info["mean"], run.info["std"],
                                          style_for(shape, run.config.dataset))
    except (CheckpointError, ValueError) as e:
        st.error(plain(e))
        st.stop()


# ------------------------------------------------------------------------------ drawing
def draw_preprocessing(loaded: LoadedImage, name: str, prepared: Prepared) -> None:
    st.subheader("3 · What the model sees")
    w, h = loaded.original_size
    cols = st.columns(len(prepared.steps) + 1)
    with cols[0]:
        picture(np.asarray(loaded.image), f"Original: {name}, {loaded.format} {w}×{h}, {loaded.original_mode}",
                STEP_PX, squared=True, width="stretch")
    for col, step in zip(cols[1:], prepared.steps):
        with col:
            picture(step.image, step.title, STEP_PX, squared=True, width="stretch")
    for note in loaded.notes:
        st.caption(f"ℹ️ {plain(note)}")
    with st.expander("What each step did"):
        for step in prepared.steps:
            st.markdown(f"**{step.title}.** {step.detail}")
    shape = "×".join(str(v) for v in prepared.x.shape)
    st.markdown(f"The tensor the model receives has shape **{shape}** (N×C×H×W), float32, values from "
                f"{float(prepared.x.min()):.2f} to {float(prepared.x.max()):.2f}.")
    with st.expander("The input tensor's numbers"):
        for c in range(prepared.x.shape[1]):
            st.caption(f"Channel {c}")
            st.dataframe(pd.DataFrame(prepared.x[0, c].numpy()).round(1), height=250)


def draw_predictions(prepared: Prepared, preds: list[Prediction]) -> None:
    """Beside the picture, so a drawn digit's answer is in view at 1366×768 without scrolling."""
    st.subheader("2 · Prediction")
    if prepared.blank:
        st.warning("No digit found: the picture is blank, so this prediction is a guess.")
    top_k_table(preds)


@st.cache_data(max_entries=64, show_spinner="Computing the attribution map…")
def attribution(root: str, run_id: str, weights_file: str, image: np.ndarray, background: tuple,
                mean: tuple, std: tuple, target: int, method: str) -> np.ndarray:
    """Cached on everything that determines the map: the weights (a new best gets a new file name),
    input and class."""
    model = run_model(get_run(root, run_id))
    x = normalise(image, mean, std)
    return attribute(model, x, target, method, baseline(background, image.shape, mean, std))


def attribution_ui(run: Run, prepared: Prepared, preds, mean, std) -> None:
    st.subheader("4 · Which pixels mattered?")
    left, middle, right = st.columns([2, 2, 2])
    with left:
        method = st.selectbox("Method", list(METHODS))
        target = st.selectbox("For class", preds, format_func=lambda p: f"{p.label} ({p.probability:.1%})")
    heat = attribution(str(run.path.parent), run.id, run.weights_file, prepared.image,
                       tuple(prepared.background), tuple(mean), tuple(std), target.index, method)
    with middle:
        picture(heat_colours(heat), f"{method} for class {target.label}: bright = mattered most", squared=True)
    with right:
        picture(overlay(to_display(prepared.image), heat), "The same map over the input", squared=True)


@st.fragment
def probe_ui(model, prepared: Prepared, mean, std, classes, original) -> None:
    """A fragment: moving a slider reruns only this part of the page."""
    st.subheader("5 · Robustness probe")
    h, w = prepared.image.shape[1:]
    left, right = st.columns([1, 1])
    with left:
        rotation = st.slider("Rotation (degrees)", -90, 90, 0, 5)
        dx = st.slider("Shift right (pixels)", -(w // 3), w // 3, 0)
        dy = st.slider("Shift down (pixels)", -(h // 3), h // 3, 0)
        scale = st.slider("Scale", 0.4, 1.6, 1.0, 0.05)
        noise = st.slider("Noise (std, 0–1 units)", 0.0, 0.6, 0.0, 0.02)
    changed = perturb(prepared.image, rotation, (dx, dy), scale, noise, seed=0)
    z = logits(model, normalise(changed, mean, std))
    now, kept = top_k(z, classes, k=1)[0], probabilities(z)[original.index]
    with right:
        picture(to_display(changed), "Changed input", squared=True)
        prediction_metric(now, "Prediction now")
        st.caption(f"Probability of the original answer {plain(original.label)}: {original.probability:.1%} → "
                   f"{kept:.1%}.")


# ------------------------------------------------------------------------------ the page
ensure_app_entry()
st.title("🖼️ Classify an image")
st.caption("Run a trained model on your own picture and see exactly what it receives and where it looks.")
with st.expander("📖 How this page works"):
    st.markdown(LESSON.read_text())

run = run_ui()
picture_col, answer_col = st.columns(2, gap="large")  # the answer beside the picture, not below the fold
with picture_col:
    st.subheader("1 · The picture")
    chosen = image_ui()
if chosen is None:  # nothing drawn yet: say where the answer will appear
    with answer_col:
        st.subheader("2 · Prediction")
        st.info("Draw one digit, large, in the middle of the square: the prediction appears here when you "
                "lift the pen.")
    st.stop()
loaded, name = chosen
model, prepared = model_input_ui(run, loaded)
mean, std, classes = run.info["mean"], run.info["std"], run.info["classes"]
preds = top_k(logits(model, prepared.x), classes, k=5)

with answer_col:
    draw_predictions(prepared, preds)
draw_preprocessing(loaded, name, prepared)
attribution_ui(run, prepared, preds, mean, std)
probe_ui(model, prepared, mean, std, classes, preds[0])
