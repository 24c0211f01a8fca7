"""Activation maps and Grad-CAM: a CNN's feature maps layer by layer for one image, and where the
last block looked for a class. Models: saved runs with convolutions, or ImageNet ResNets."""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import streamlit as st
import torch
from torch import nn

from nets.engine.data import DatasetError
from nets.engine.models import CONV_MODELS, is_convolutional
from nets.inspect.attribution import grad_cam, overlay
from nets.inspect.featuremaps import LayerView, layer_views
from nets.inspect.imagenet import digest, imagenet_from_bytes
from nets.inspect.pictures import to_display
from nets.inspect.prediction import Prediction, probabilities, runner_up, top_k
from nets.inspect.preprocess import normalise, preprocess, style_for
from nets.engine.pretrained import (
    ARCHES,
    PretrainedError,
    imagenet_classes,
    imagenet_normalisation,
    imagenet_resnet,
    weights_path,
)
from nets.runs import CheckpointError, RunFilter
from nets.text import plain
from pages._common import ensure_app_entry
from pages._cached import run_dataset, run_model
from pages._runpick import run_picker_ui
from pages._upload_ui import decode_image, upload_image_ui
from pages._widgets import picture, top_k_table

ensure_app_entry()

ASSETS = Path(__file__).resolve().parent.parent / "assets"
LESSON, SAMPLES = ASSETS / "inside_cnn.md", ASSETS / "samples"
DEFAULT_RUN, DEFAULT_SAMPLE = "lenet-mnist-mini", "photo-3.png"
RUN_SOURCE, IMAGENET_SOURCE = "A saved run", "ImageNet-pretrained ResNet"
IMAGENET_SHAPE = (3, 224, 224)
MAX_WEIGHTS_MB = 100          # ResNet-34's ImageNet state dict is 83 MB


class Chosen(NamedTuple):
    key: tuple                # names the weights exactly: derived results are cached by it
    model: nn.Module
    label: str
    classes: list
    shape: tuple
    mean: list
    std: list
    run: object = None        # the Run, for saved runs


class Picture(NamedTuple):
    image: np.ndarray         # C×H×W uint8, what the model sees before normalisation
    x: np.ndarray             # 1×C×H×W float32, the model's input
    caption: str


# ------------------------------------------------------------------------------ models (cached)
@st.cache_resource(show_spinner="Loading the ImageNet weights…", max_entries=2)
def imagenet_model(arch: str, path: str, mtime: float) -> nn.Module:
    return imagenet_resnet(arch).eval()


@st.cache_resource(show_spinner="Reading the uploaded weights…", max_entries=2)
def uploaded_model(arch: str, fingerprint: str, _data: bytes) -> nn.Module:
    return imagenet_from_bytes(arch, _data)


@st.cache_resource(show_spinner=False)
def class_names(arch: str) -> list[str]:
    return imagenet_classes(arch)


# ------------------------------------------------------------------------------ choices
def run_ui() -> Chosen:
    # Convolutional image models only: an MLP, or a head on frozen features, has no feature maps.
    run = run_picker_ui("Saved run", "inside_cnn_run", RunFilter(has_model=True, images=True, models=CONV_MODELS),
                        DEFAULT_RUN, "No saved run of a convolutional network yet: train a lenet, cnn5, "
                        "gated-cnn or ResNet on the Train page, or pick an ImageNet ResNet above.")
    try:
        model = run_model(run)
    except CheckpointError as e:
        st.error(plain(e))
        st.stop()
    info = run.info
    return Chosen(("run", str(run.path), run.weights_file), model, run.name,
                  info["classes"], tuple(info["input_shape"]), info["mean"], info["std"], run)


def imagenet_ui() -> Chosen:
    arch = st.selectbox("Architecture", ARCHES, format_func=lambda a: f"ResNet-{a[6:]}")
    # The server refuses any upload above server.maxUploadSize, whatever the widget allows.
    server_mb = min(MAX_WEIGHTS_MB, st.get_option("server.maxUploadSize"))
    upload = st.file_uploader("Or use your own ImageNet weights (a .pth state dict)", type=["pth", "pt"],
                              max_upload_size=MAX_WEIGHTS_MB,
                              help=f"torchvision's files are 45 MB (ResNet-18) and 83 MB (ResNet-34); this "
                                   f"server accepts up to {server_mb} MB (server.maxUploadSize).")
    mean, std = imagenet_normalisation(arch)
    try:
        if upload is None:
            path = weights_path(arch)
            key = ("imagenet", arch, str(path), path.stat().st_mtime if path.exists() else 0.0)
            model = imagenet_model(*key[1:])
            label = f"ResNet-{arch[6:]}, ImageNet weights"
        else:
            if upload.size > MAX_WEIGHTS_MB * 2**20:   # the browser's limit is not enforced by the server
                st.error(plain(f"{upload.name} is larger than {MAX_WEIGHTS_MB} MB."))
                st.stop()
            data = upload.getvalue()
            key = ("upload", arch, digest(data))
            model = uploaded_model(arch, key[2], data)
            label = f"ResNet-{arch[6:]}, weights from {upload.name}"
    except PretrainedError as e:
        st.error(plain(e))
        st.stop()
    return Chosen(key, model, label, class_names(arch), IMAGENET_SHAPE, mean, std)


def model_ui() -> Chosen:
    source = st.radio("Model", (RUN_SOURCE, IMAGENET_SOURCE), horizontal=True)
    return run_ui() if source == RUN_SOURCE else imagenet_ui()


def image_ui(chosen: Chosen) -> Picture:
    first = "Test-set image" if chosen.run is not None else "Bundled sample"
    source = st.radio("Image", (first, "Upload"), horizontal=True)
    if source == "Test-set image":
        try:
            data = run_dataset(chosen.run)
        except DatasetError as e:
            st.error(plain(f"{e} Upload an image instead."))
            st.stop()
        i = st.number_input(f"Test image (0–{len(data.x_test) - 1})", 0, len(data.x_test) - 1, 0)
        image = data.x_test[int(i)].numpy()
        return Picture(image, normalise(image, chosen.mean, chosen.std).numpy(),
                       f"Test image {int(i)}, true class {data.classes[int(data.y_test[int(i)])]}")
    if source == "Bundled sample":
        names = sorted(p.name for p in SAMPLES.glob("*.png"))
        name = st.selectbox("Sample", names, index=names.index(DEFAULT_SAMPLE) if DEFAULT_SAMPLE in names else 0)
        loaded = decode_image((SAMPLES / name).read_bytes(), name)
    else:
        loaded, name = upload_image_ui()
    style = style_for(chosen.shape, chosen.run.config.dataset) if chosen.run is not None else "photo"
    prepared = preprocess(loaded.image, chosen.shape, chosen.mean, chosen.std, style)
    return Picture(prepared.image, prepared.x.numpy(), f"{name}, as the model sees it")


def channels_ui() -> int:
    return st.select_slider("Channels shown per layer", [4, 9, 16, 25, 36], value=16)


# ------------------------------------------------------------------------------ derived (cached)
@st.cache_data(max_entries=16, show_spinner="Running the model and collecting feature maps…")
def inspect(model_key: tuple, x: np.ndarray, k: int, _model: nn.Module):
    logits, views = layer_views(_model, torch.from_numpy(x), k)
    return logits.numpy(), views


@st.cache_data(max_entries=32, show_spinner="Computing Grad-CAM…")
def cam(model_key: tuple, x: np.ndarray, target: int, _model: nn.Module) -> np.ndarray:
    return grad_cam(_model, torch.from_numpy(x), target)


# ------------------------------------------------------------------------------ drawing
def draw_input(chosen: Chosen, pic: Picture, preds: list[Prediction]) -> None:
    st.markdown(f"**{plain(chosen.label)}** on a {'×'.join(map(str, pic.x.shape[1:]))} input.")
    left, right = st.columns([1, 2])
    with left:
        picture(to_display(pic.image), pic.caption)
    with right:
        top_k_table(preds)


def draw_layers(views: list[LayerView], per_row: int = 3) -> None:
    st.subheader("Feature maps, layer by layer")
    st.caption("Each grid: the most active channels of one layer's output, most active first; each tile "
               "scaled on its own (black = its lowest value, white = its highest).")
    for start in range(0, len(views), per_row):
        for col, v in zip(st.columns(per_row), views[start:start + per_row]):
            c, h, w = v.shape
            col.markdown(f"**{v.name}** — {c}×{h}×{w}")
            col.image(v.grid, width="stretch",
                      caption=f"Top {len(v.channels)} of {c} channels: " + ", ".join(f"#{i}" for i in v.channels))


def gradcam_ui(chosen: Chosen, pic: Picture, preds: list[Prediction], probs: np.ndarray,
               last: LayerView) -> None:
    st.subheader("Grad-CAM: where the last block looked")
    classes = chosen.classes
    target = st.selectbox("Compare with class", range(len(classes)), index=runner_up(preds),
                          format_func=lambda i: f"{classes[i]} ({probs[i]:.1%})")
    h, w = pic.image.shape[1:]
    st.caption(f"Grad-CAM on **{last.name}** ({'×'.join(map(str, last.shape))}): one value per cell of its "
               f"{last.shape[1]}×{last.shape[2]} grid, enlarged to {h}×{w}.")
    display = to_display(pic.image)
    for col, (what, cls) in zip(st.columns(2), (("predicted", preds[0].index), ("chosen", target))):
        heat = cam(chosen.key, pic.x, int(cls), chosen.model)
        with col:
            picture(overlay(display, heat), f"Grad-CAM for the {what} class {classes[cls]} ({probs[cls]:.1%})"
                                            + ("" if heat.any() else ": nothing speaks for this class"))


# ------------------------------------------------------------------------------ the page
st.title("🔥 Activation maps and Grad-CAM")
st.caption("What a CNN computes layer by layer for one image, and where it looked for a class.")
with st.expander("📖 How to read this page"):
    st.markdown(LESSON.read_text())

chosen = model_ui()
if not is_convolutional(chosen.model):  # a builder network may have no convolution at all
    st.info(f"{plain(chosen.label)} has no convolution, so it has no activation maps and no Grad-CAM: choose a "
            "run of a network with one (a builder network counts when it has a Conv, Res or Gated layer).")
    st.stop()
pic = image_ui(chosen)
k = channels_ui()

logits, views = inspect(chosen.key, pic.x, k, chosen.model)
preds, probs = top_k(logits, chosen.classes, k=5), probabilities(logits)

draw_input(chosen, pic, preds)
draw_layers(views)
gradcam_ui(chosen, pic, preds, probs, views[-1])
