"""Datasets, models and evaluations cached once per server process and shared by every session."""
from __future__ import annotations

import streamlit as st
import torch

from nets.engine.data import ImageData, load_dataset
from nets.runs import Run, get_run, load_model, stored_evaluation
from pages._service import data_dir


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=4)
def dataset(name: str, data: str, folder: str = "", image_size: int = 32) -> ImageData:
    """A whole dataset (train and test) as tensors, shared by every session. Never modify it."""
    return load_dataset(name, data, download=True, folder=folder or None, image_size=image_size)


def run_dataset(run: Run) -> ImageData:
    cfg = run.config
    return dataset(cfg.dataset, str(data_dir()), cfg.folder, cfg.image_size)


@st.cache_resource(show_spinner="Loading the model…", max_entries=16)
def _model(root: str, run_id: str, weights_file: str) -> torch.nn.Module:
    return load_model(get_run(root, run_id))


def run_model(run: Run) -> torch.nn.Module:
    """The run's best model, cached until its weights change (they get a new file name). Shared:
    never train it."""
    return _model(str(run.path.parent), run.id, run.weights_file)


@st.cache_resource(show_spinner="Evaluating on the test set…", max_entries=16)
def _evaluation(root: str, run_id: str, weights_file: str):
    from nets.runs.compare import evaluate_run
    run = get_run(root, run_id)
    return stored_evaluation(run, lambda: evaluate_run(run, run_model(run), run_dataset(run)))


def run_evaluation(run: Run):
    """The run's evaluation on its test set: stored with the run when it was trained (or the first
    time anyone looked), so a page only reads it (nets.runs.evals)."""
    return _evaluation(str(run.path.parent), run.id, run.weights_file)
