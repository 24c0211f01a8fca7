"""Augmentation preview: one image and a grid of randomly augmented versions, made by the same
batched transforms (nets.engine.augment) that the training engine applies."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from nets.engine.augment import AUGMENTATIONS, LABELS, augmented_copies, describe, suitable
from nets.engine.catalog import dataset_status
from nets.inspect.pictures import to_chw, to_display
from pages._common import ensure_app_entry
from pages._cached import dataset
from pages._service import data_dir
from pages._upload_ui import upload_image_ui
from pages._widgets import image_grid, picture

ensure_app_entry()

LESSON = Path(__file__).resolve().parent.parent / "assets" / "augment_preview.md"
MNIST, CIFAR, UPLOAD = "MNIST test digit", "CIFAR-10 test image", "Upload"
UPLOAD_SIDE = 128     # uploads are shrunk to this; the datasets' images are 28 or 32 px
SHOW_PX = 112         # each version is drawn about this wide, with square pixels


# ------------------------------------------------------------------------------ choices
def dataset_image_ui(name: str, label: str) -> tuple[np.ndarray, str]:
    data = dataset(name, str(data_dir()))
    i = st.number_input(f"{label} (0–{len(data.x_test) - 1})", 0, len(data.x_test) - 1, 0)
    return data.x_test[int(i)].numpy(), f"{label} {int(i)}: {data.classes[int(data.y_test[int(i)])]}"


def image_ui() -> tuple[np.ndarray, str]:
    """The chosen image as C×H×W uint8 and its caption; stops the page when there is none."""
    sources = [MNIST] + ([CIFAR] if dataset_status(data_dir()).get("cifar10") else []) + [UPLOAD]
    source = st.radio("Image", sources, horizontal=True, key="aug_source")
    if source == MNIST:
        return dataset_image_ui("mnist-mini", "Test digit")
    if source == CIFAR:
        return dataset_image_ui("cifar10", "Test image")
    loaded, name = upload_image_ui()
    return to_chw(loaded.image, UPLOAD_SIDE), name


def augment_ui(source: str) -> tuple[list[str], int, int]:
    # Suggestions follow the image: no horizontal flip for a handwritten digit (a mirrored 2 is no 2)
    names = st.multiselect("Augmentations, applied in this order", list(AUGMENTATIONS), format_func=LABELS.get,
                           default=list(suitable("mnist" if source == MNIST else "cifar10")), key=f"aug-{source}")
    left, right = st.columns(2)
    n = left.slider("Versions", 4, 24, 12)
    seed = right.number_input("Seed", 0, 2**31 - 1, 0, help="The same seed always gives the same versions.")
    return names, n, int(seed)


# ------------------------------------------------------------------------------ derived (cached)
@st.cache_data(max_entries=32, show_spinner=False)
def versions(image: np.ndarray, names: tuple, n: int, seed: int) -> np.ndarray:
    return augmented_copies(image, names, n, seed)


# ------------------------------------------------------------------------------ drawing
def draw_help() -> None:
    with st.expander("What each augmentation does"):
        st.dataframe(describe(), hide_index=True, width="stretch")


def draw_versions(image: np.ndarray, caption: str, names: list[str], out: np.ndarray) -> None:
    c, h, w = image.shape
    picture(to_display(image), f"Original: {caption} ({c}×{h}×{w})", 2 * SHOW_PX)
    if not names:
        st.info("No augmentation chosen: every version below is the original.")
    st.subheader(f"{len(out)} versions: " + (" → ".join(LABELS[k] for k in names) or "no augmentation"))
    image_grid([(to_display(v), f"#{i + 1}") for i, v in enumerate(out)], SHOW_PX)


# ------------------------------------------------------------------------------ the page
st.title("🎲 Augmentation preview")
st.caption("What the network sees during training: the same image, randomly changed each time.")
with st.expander("📖 Why augment?"):
    st.markdown(LESSON.read_text())

image, caption = image_ui()
names, n, seed = augment_ui(st.session_state.get("aug_source", MNIST))
draw_help()
out = versions(image, tuple(names), n, seed)
draw_versions(image, caption, names, out)
