"""Feature projector: how a trained network arranges the test images in its last hidden layer."""
import streamlit as st

from nets.engine.data import DatasetError
from nets.inspect.features import FeatureError
from nets.inspect.projection import ProjectionError
from nets.runs import CheckpointError, Run, RunFilter
from nets.text import plain
from pages._common import ensure_app_entry
from pages._projector_job import computed_ui
from pages._projector_ui import (classes_of, controls_ui, draw_epochs, draw_point, draw_scatter, draw_scores, features,
                                 params_ui, projection, stored_count)
from pages._runpick import run_picker_ui

ensure_app_entry()

USABLE = RunFilter(has_model=True, images=True)
PROBLEMS = (CheckpointError, DatasetError, FeatureError, ProjectionError, OSError)


def run_ui() -> Run:
    return run_picker_ui("Run", "projector_run", USABLE,
                         empty="No saved run with a model yet. Train one on the Train page.")


st.title("🔭 Feature projector")
st.caption("Each dot is a test image, placed by its last hidden layer's activations squeezed to two "
           "dimensions: what the network tells apart lands apart. Crosses are its mistakes.")
top, rest = st.columns([1.1, 1])
with top:
    run = run_ui()
try:
    with rest:
        choice = controls_ui(stored_count(run))
    chart, side = st.columns([2.6, 1])
    with side:
        choice = params_ui(choice)
    with chart:
        ready = computed_ui(run, "test", choice.method, choice.params)
    if ready:
        f, xy = features(run), projection(run, choice)
        with chart:
            picked = draw_scatter(run, f, xy, choice)
        with side:
            draw_scores(run, f)
            draw_point(run, f, picked)
    draw_epochs(run, classes_of(run), choice.colour_by)
except PROBLEMS as e:
    st.error(plain(e))
