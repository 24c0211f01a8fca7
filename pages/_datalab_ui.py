"""The Data lab's widgets and drawings (not a page): the lesson's settings, the training sets per class, the two
runs compared (recall per class, the sentence, the confusion matrices and their difference) and the label check
(precision and recall of cleanlab's flags against the flips the app made, the flagged images, the accuracy won back)."""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from nets.charts import grids
from nets.charts.datalab import counts_chart, recall_chart
from nets.datalab import labelcheck, plan
from nets.datalab.shift import class_shift, lesson as lesson_sentence
from nets.engine import datamod
from nets.engine.catalog import BUNDLED, DATASETS, FOLDER, class_names, menu_label
from nets.engine.config import TrainConfig
from nets.engine.data import ImageData
from nets.experiment import data_key, prepare_data
from nets.runs import Run
from nets.server.upload import folder_label, image_folders
from nets.text import plain
from pages._cached import run_evaluation
from pages._compare_ui import draw_difference, draw_matrices
from pages._identity import identity
from pages._service import data_dir

MODELS = {"lenet": "LeNet", "cnn5": "5×5 CNN", "mlp": "MLP (one hidden layer of 128)"}
FLAGGED_SHOWN = 24
IMAGE_PX = 84


# ----------------------------------------------------------------------------- the settings
def _dataset_ui() -> tuple[str, str]:
    names = [d for d in DATASETS if d in BUNDLED] + [d for d in DATASETS if d not in BUNDLED]
    dataset = st.selectbox("Dataset", names, index=names.index(plan.BASE.dataset), format_func=lambda d: menu_label(d, data_dir()) if d != FOLDER
                           else "your own images (an uploaded folder)", key="dl_dataset")
    if dataset != FOLDER:
        return dataset, ""
    root, owner = data_dir(), identity()
    folders = [str(p) for p in image_folders(root, owner)]
    folder = st.selectbox("Folder", folders, format_func=lambda p: folder_label(root, p, owner), key="dl_folder",
                          placeholder="none yet: upload a zip on the Train page")
    return dataset, folder or ""


def classes_of(dataset: str, folder: str) -> list[str]:
    if dataset == FOLDER and not folder:
        return []
    try:
        return class_names(dataset, folder or None)
    except (OSError, ValueError):
        return []


def setup_ui() -> tuple[TrainConfig, plan.Lesson, list[str]]:
    """The dataset, model and epochs, the lesson and its sliders."""
    a, b, c, d = st.columns([2, 1.5, 0.9, 1.1])
    with a:
        dataset, folder = _dataset_ui()
    model = b.selectbox("Model", list(MODELS), format_func=MODELS.get, key="dl_model")
    epochs = c.number_input("Epochs", 1, 30, plan.BASE.epochs, key="dl_epochs")
    per_class = d.number_input("Images per class", 0, 6000, 0, 50, key="dl_subset",
                               help="Train on this many images of each class (0: all): fewer train faster.")
    base = replace(plan.BASE, dataset=dataset, folder=folder, model=model, epochs=int(epochs),
                   hidden=(128,) if model == "mlp" else (), train_per_class=int(per_class))
    classes = classes_of(dataset, folder)
    kind = st.radio("What to do to the training set", list(plan.LESSONS), format_func=plan.LESSONS.get,
                    horizontal=True, key="dl_kind")
    names = {i: f"{i}: {c}" for i, c in enumerate(classes)}
    if kind == "noise":
        x, y, z, w = st.columns([1.4, 1.4, 1, 1])
        how = x.radio("Flip", [plan.SYMMETRIC, plan.PAIR_FLIP], horizontal=True, key="dl_how",
                      help="At random: each flipped label becomes any other class. One class to another: "
                           "a share of one class is labelled as another.")
        pct = y.slider("Labels flipped (%)", 5, 90, 30, 5, key="dl_flip_pct")
        pair = None
        if how == plan.PAIR_FLIP and len(classes) > 1:
            a, b = plan.default_pair(dataset, len(classes))
            src = z.selectbox("From class", list(names), index=a, format_func=names.get, key="dl_from")
            others = [i for i in names if i != src]
            dst = w.selectbox("To class", others, index=others.index(b) if b in others else 0, format_func=names.get,
                              key="dl_to")
            pair = (src, dst)
        return base, plan.Lesson("noise", float(pct), pair=pair), classes
    if kind == "imbalance":
        x, y = st.columns([3, 1.5])
        chosen = x.multiselect("Classes to cut down", list(names), default=[c for c in (3, 5) if c in names],
                               format_func=names.get, key="dl_classes")
        pct = y.slider("Of their images, keep (%)", 1, 100, 10, 1, key="dl_keep_pct")
        return base, plan.Lesson("imbalance", float(pct), classes=tuple(chosen)), classes
    n = st.slider("Images per class", 5, 600, 50, 5, key="dl_per_class")
    return base, plan.Lesson("fewer", per_class=int(n)), classes


# ----------------------------------------------------------------------------- before training
@st.cache_resource(show_spinner="Preparing the training set…", max_entries=8)
def _prepared(key: tuple, _cfg: TrainConfig) -> ImageData:  # the key says all the data depends on
    return prepare_data(_cfg, key[1], download=False)


def prepared(cfg: TrainConfig) -> ImageData:
    """The training set a configuration gives its model (keep and flip steps; never a clean step here)."""
    mod = datamod.parse(cfg.data_mod)
    cfg = replace(cfg, data_mod=datamod.text(replace(mod, clean=0)))
    return _prepared(data_key(cfg, str(data_dir())), cfg)


def describe_ui(modified: TrainConfig, classes: list[str]) -> None:
    """What the sliders do, in words."""
    words = (datamod.describe(datamod.parse(modified.data_mod), classes) if modified.data_mod
             else f"{modified.train_per_class} training images per class kept")
    st.markdown(f"**The modified training set:** {plain(words)}. The test set stays as it is.")


def draw_sets(clean: TrainConfig, modified: TrainConfig) -> None:
    """The training images per label, clean and modified (right and flipped labels), before anything trains."""
    counts = plan.class_counts(prepared(clean), prepared(modified))
    st.altair_chart(counts_chart(counts), width="stretch")


# ----------------------------------------------------------------------------- after training
def draw_results(runs: list[Run], labels: dict, mod_text: str) -> None:
    """The two runs compared: accuracies, the sentence from the numbers, recall per class, the matrices."""
    clean, modified = runs
    ev_clean, ev_mod = run_evaluation(clean), run_evaluation(modified)
    shift = class_shift(ev_clean, ev_mod)
    a, b, c = st.columns([1, 1, 3])
    a.metric("Clean set", f"{ev_clean.accuracy:.1%}", help="Test accuracy of the run on the clean training set.")
    b.metric("Modified set", f"{ev_mod.accuracy:.1%}", delta=f"{100 * (ev_mod.accuracy - ev_clean.accuracy):+.1f} points",
             help="Test accuracy of the run on the modified training set (the same test set).")
    mod = datamod.parse(mod_text) if mod_text else datamod.NONE
    with c:
        st.markdown(f"#### {plain(lesson_sentence(mod, shift, ev_clean.classes))}")
    st.altair_chart(recall_chart(shift.rows()), width="stretch")
    evaluations = draw_matrices(runs, labels)
    draw_difference(runs, labels, evaluations)


def draw_check(check: labelcheck.LabelCheck, split: ImageData, accuracies: dict) -> None:
    """cleanlab's flags scored against the app's flips, the flagged images, the accuracy won back."""
    pr = check.precision_recall()
    cols = st.columns(3 + len(accuracies))
    cols[0].metric("Flagged", f"{int(check.flagged.sum()):,}", help="Training labels cleanlab calls wrong.")
    if pr is not None:
        cols[1].metric("Precision", f"{pr[0]:.0%}", help="Of the flagged labels, how many the app had flipped.")
        cols[2].metric("Recall", f"{pr[1]:.0%}", help="Of the flipped labels, how many were flagged.")
    for col, (name, acc) in zip(cols[3:], accuracies.items()):
        col.metric(name, f"{acc:.1%}", help="Test accuracy of the run trained on this set.")
    st.caption(plain(check.summary()))
    ranked = check.ranked()[:FLAGGED_SHOWN]
    if not len(ranked):
        return
    classes, flipped = split.classes, check.flipped
    images, captions = [], []
    for i in ranked:
        images.append(grids.display_image(split.x_train[int(check.index[i])], IMAGE_PX))
        given, suggested = classes[int(check.labels[i])], classes[int(check.suggested[i])]
        truth = "" if flipped is None else (" · ✓ was flipped" if flipped[i] else " · ✗ label was right")
        captions.append(f"given {given} → {suggested}{truth}")
    st.markdown(f"**The {len(ranked)} least self-confident flags** (the model's probability for the given "
                "label is lowest first):")
    st.image(images, caption=[plain(c) for c in captions], width=IMAGE_PX)
