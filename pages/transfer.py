"""Pretrained ResNets: ImageNet weights on this machine, frozen features with a small head,
fine-tuning the last blocks, the from-scratch recipe and the small-data experiment. Every recipe
opens the Train page filled in, so it runs on the same engine and lands in Runs."""
from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

from nets.engine.config import PRESETS
from nets.engine.catalog import download_notice, input_shape, menu_label, num_classes
from nets.engine.frozen_features import FEATURE_DIM
from nets.engine.models import CNN_MODELS, finetune_plan
from nets.engine.naming import LOSS_NAMES, OPTIMIZER_NAMES
from nets.engine.options import OPTIONS
from nets.engine.pretrained import (ARCHES, PretrainedError, have_weights, install_state_dict, may_install,
                                    weights_path)
from nets.runs import RunFilter
from pages._common import ensure_app_entry
from pages._identity import access
from pages._runpick import find_runs
from pages._service import data_dir
from pages._train_state import load_train_config

ensure_app_entry()

LESSON = Path(__file__).resolve().parent.parent / "assets" / "transfer.md"
# Bundled first: every recipe works offline; the coursework's CIFAR-10 downloads on first use.
RECIPE_DATASETS = ["fashion-mnist-mini", "mnist-mini", "cifar10", "fashion-mnist", "mnist"]


def open_in_train(cfg) -> None:
    load_train_config(cfg)
    st.switch_page("pages/train.py")


def weights_ui() -> None:
    """The weights' status for everyone; installing (every job then uses them) for the lecturer on a
    server, anyone on a laptop (nets.engine.pretrained.may_install decides, and install_state_dict
    checks again)."""
    st.subheader("ImageNet weights on this machine")
    who = access()
    installer = may_install(who)
    for arch, col in zip(ARCHES, st.columns(len(ARCHES))):
        with col.container(border=True):
            if not installer:
                if have_weights(arch):
                    st.success(f"**{arch}**: ready")
                else:
                    st.warning(f"**{arch}**: not on this server yet; it downloads on first use when the "
                               "server is online. Otherwise ask your lecturer to install it.")
                continue
            if have_weights(arch):
                st.success(f"**{arch}**: ready (`{weights_path(arch)}`)")
            else:
                st.warning(f"**{arch}**: not here yet. Online, it downloads on first use into "
                           f"`{weights_path(arch).parent}`. Offline, put `{weights_path(arch).name}` there "
                           "or upload a state dict:")
            install_ui(arch, who)


def install_ui(arch: str, who) -> None:
    upload = st.file_uploader(f"A .pth state dict for {arch}", type=["pth", "pt"], key=f"upload-{arch}")
    if upload is None:
        return
    replace_it = False
    if have_weights(arch):
        path = weights_path(arch)
        st.caption(f"Installed now: `{path.name}`, {path.stat().st_size / 2**20:,.1f} MB, "
                   f"{pd.Timestamp(path.stat().st_mtime, unit='s'):%Y-%m-%d %H:%M}. Every pretrained, "
                   "fine-tuning and frozen-feature job uses it.")
        replace_it = st.checkbox(f"Replace the installed {arch} weights with this file", key=f"replace-{arch}")
    if st.button(f"Check and install for {arch}", key=f"install-{arch}",
                 disabled=have_weights(arch) and not replace_it):
        try:
            path = install_state_dict(arch, upload.getvalue(), who, replace=replace_it)
        except PretrainedError as e:
            st.error(str(e))
        else:
            st.success(f"Installed as `{path}`.")


def dataset_ui() -> str:
    st.subheader("The data for every recipe below")
    where = data_dir()
    dataset = st.selectbox("Dataset", RECIPE_DATASETS, key="tr_dataset",
                           format_func=lambda d: menu_label(d, where))
    notice = download_notice(dataset, where)
    if notice:
        st.info(f"{notice} Offline, choose a bundled dataset.")
    return dataset


def weights_note(arch: str) -> None:
    if not have_weights(arch):
        st.caption(f"Needs the ImageNet weights for {arch}: the first run downloads them; offline, "
                   "upload them above first.")


def features_ui(dataset: str) -> None:
    st.subheader("1 · Frozen features and a small head")
    head = PRESETS["resnet34-features-head"]
    sizes = " → ".join(map(str, (FEATURE_DIM, *head.hidden, num_classes(dataset))))
    st.caption(f"Each image becomes the {FEATURE_DIM} numbers before ResNet's ImageNet head (computed once, "
               f"then cached); a {sizes} network trains on them with {OPTIMIZER_NAMES[head.optimizer]} (lr {head.lr:g}, "
               f"momentum {head.momentum:g}, {LOSS_NAMES[head.loss]}) until its training loss stops falling.")
    c1, c2, c3 = st.columns(3)
    arch = c1.selectbox("Backbone", ARCHES, index=1, key="tr_backbone")
    patience = c2.number_input("Converged when the loss stalls for (epochs)", 1, 50, 5, key="tr_patience")
    delta = c3.number_input("…improving by less than", 0.0, 1.0, 0.001, format="%g", key="tr_delta")
    cfg = replace(PRESETS["resnet34-features-head"], backbone=arch, dataset=dataset,
                  converge_patience=int(patience), converge_delta=float(delta))
    weights_note(arch)
    if st.button("Open in Train", key="tr_open_features"):
        open_in_train(cfg)
    comparison_ui(dataset)


def comparison_ui(dataset: str) -> None:
    """The coursework's question: do pretrained features beat the best of the four CNN configurations?"""
    def best(**which):
        # The index, most accurate first, only runs this session may see (nets.runs.access).
        rows, _ = find_runs(RunFilter(dataset=dataset, **which), limit=1, order="accuracy", count=False)
        return rows[0] if rows and rows[0].accuracy is not None else None
    cnn, head = best(models=CNN_MODELS, features=False), best(features=True)
    shown = [(label, r) for label, r in (("best CNN run", cnn), ("best frozen-feature head", head)) if r is not None]
    if shown:
        st.dataframe(pd.DataFrame([{"": label, "run": r.name, "test accuracy": r.accuracy,
                                    "best epoch": r.best_epoch} for label, r in shown]),
                     hide_index=True, column_config={"test accuracy": st.column_config.NumberColumn(format="percent")})
    else:
        st.caption(f"No finished {dataset} runs yet to compare.")


def finetune_ui(dataset: str) -> None:
    st.subheader("2 · Fine-tune a pretrained ResNet")
    c1, c2, c3 = st.columns(3)
    arch = c1.selectbox("Network", ARCHES, key="ft_arch")
    shape, classes = input_shape(dataset), num_classes(dataset)  # the chosen data's channels and classes
    blocks = len([r for r in finetune_plan(arch, shape, classes, 0) if r["part"].startswith("layer")])
    k = c2.slider("Train the last k residual blocks", 0, blocks, 2, key="ft_k")
    optimizer = c3.radio("Optimizer", ["adam", "sgd"], horizontal=True, key="ft_opt")
    plan = pd.DataFrame(finetune_plan(arch, shape, classes, k))
    trains = int(plan.loc[plan["trains"], "parameters"].sum())
    st.dataframe(plan, hide_index=True, height=min(38 * (len(plan) + 1), 420))
    cfg = replace(PRESETS["resnet18-finetune"], dataset=dataset, model=arch, train_blocks=k, optimizer=optimizer,
                  lr=1e-4 if optimizer == "adam" else 1e-3)
    st.caption(f"{trains:,} of {int(plan['parameters'].sum()):,} parameters train; frozen batch norms keep "
               f"ImageNet's statistics. Images are resized to {cfg.input_size} inside the model, as ImageNet's "
               "were (minutes per epoch on a CPU: a GPU helps here).")
    weights_note(arch)
    if st.button("Open in Train", key="ft_open"):
        open_in_train(cfg)


def recipes_ui(dataset: str) -> None:
    st.subheader("3 · ResNet-18 from scratch, and with little data")
    # CIFAR-10 gets the coursework's full recipe; 28×28 data the same recipe in minutes on a CPU
    recipe = (PRESETS["resnet18-scratch"] if dataset == "cifar10"
              else replace(PRESETS["resnet18-scratch-mini"], dataset=dataset))
    left, right = st.columns(2)
    with left.container(border=True):
        r = recipe
        st.markdown(f"**The recipe**: {OPTIMIZER_NAMES[r.optimizer]} lr {r.lr:g}, weight decay {r.weight_decay:g}, "
                    f"{r.schedule} schedule, gradient clipping {r.clip_grad:g}, early stopping with patience "
                    f"{r.patience}, batch {r.batch_size}, {' and '.join(r.augment)}, {r.epochs} epochs"
                    + ("." if dataset == "cifar10" else "; the stock 7×7 stem keeps each epoch to seconds."))
        if st.button("Open in Train", key="scratch_open"):
            open_in_train(recipe)
    with right.container(border=True):
        fraction = st.slider("Fraction of the training set (class-balanced)", 0.01, 1.0, 0.1, key="sd_fraction")
        dropout = st.slider(OPTIONS["block_dropout"].label, 0.0, 0.5, 0.1, key="sd_dropout")
        cfg = replace(recipe, train_fraction=float(fraction), block_dropout=float(dropout),
                      name=f"resnet18-{dataset}-{fraction:.0%}-data")
        if st.button("Open in Train", key="sd_open"):
            open_in_train(cfg)


st.title("🏛️ Pretrained ResNets")
st.markdown(LESSON.read_text())
weights_ui()
chosen = dataset_ui()
features_ui(chosen)
finetune_ui(chosen)
recipes_ui(chosen)
