"""Predictions: what one saved run gets right and wrong on the test set, image by image."""
from dataclasses import replace

import streamlit as st
import torch

from nets.charts.confusion import per_class_chart
from nets.charts.grids import image_grid_items, loss_notes
from nets.engine.data import DatasetError
from nets.engine.evaluate import Evaluation
from nets.runs import CheckpointError, Run, RunFilter, compare
from nets.runs.rows import record_problem
from nets.status import Status
from nets.text import plain
from pages._common import ensure_app_entry
from pages._cached import run_dataset, run_evaluation
from pages._runpick import find_runs, run_picker_ui
from pages._widgets import image_grid

ensure_app_entry()

GRID = 20


# ------------------------------------------------------------------------------ choices
USABLE = RunFilter(has_model=True, images=True)


def newest_completed() -> str:
    """The newest run that completed with a model, the page's first choice ('' when none completed:
    the picker then opens on the newest run with a model). A run that failed, diverged or was stopped
    early is shown only when the user picks it: its 12% test accuracy is not the lesson's first view."""
    rows, _ = find_runs(replace(USABLE, status=Status.COMPLETED), limit=1, count=False)
    return rows[0].id if rows else ""


def run_ui() -> Run:
    # The choice is shared with the Runs page through `selected_run` (run_picker_ui): a widget's own key
    # is dropped when the user navigates to another page.
    return run_picker_ui("Run", "predictions_run", USABLE, default=newest_completed(),
                         empty="No saved run with a model yet. Train one on the Train page.")


def evaluation_ui(run: Run) -> tuple[Evaluation, torch.Tensor]:
    """The run's stored test evaluation and its test images; stops the page with the reason when unreadable."""
    if (problem := record_problem(run.info)) is not None:  # a run.json edited or copied in by hand
        st.error(plain(f"This run's run.json is damaged ({problem}): choose another run."))
        st.stop()
    try:
        return run_evaluation(run), run_dataset(run).x_test
    except (CheckpointError, DatasetError, ValueError, OSError) as e:
        st.error(plain(e))
        st.stop()


# ------------------------------------------------------------------------------ drawing
def draw_scores(run: Run, ev: Evaluation) -> None:
    c1, c2, c3 = st.columns(3)
    c1.metric("Test accuracy", f"{ev.accuracy:.1%}")
    c2.metric(plain(f"Test loss ({run.config.loss})"), f"{ev.loss:.4f}")
    c3.metric("Mistakes", f"{len(ev.mistakes)} of {len(ev.labels)}")


def draw_grids(ev: Evaluation, x_test: torch.Tensor) -> None:
    st.subheader(f"The first {GRID} test images")
    image_grid(image_grid_items(ev, range(len(ev.labels))[:GRID], x_test))
    st.subheader(f"The first {GRID} mistakes")
    image_grid(image_grid_items(ev, ev.mistakes[:GRID], x_test))


def draw_confusions(ev: Evaluation) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader("Most confused pairs")
        pairs = compare.confused_pairs(ev, 10)
        if pairs:
            st.dataframe(pairs, hide_index=True, width="stretch",
                         column_config={"share of the class": st.column_config.NumberColumn(format="percent")})
        else:
            st.caption("No mistakes at all.")
    with right:
        st.subheader("Accuracy per class")
        st.altair_chart(per_class_chart(ev, title=""), width="stretch")


def draw_highest_loss(run: Run, ev: Evaluation, x_test: torch.Tensor) -> None:
    st.subheader(f"The {GRID} test images with the highest loss")
    st.caption("The loss is large when the network gives the true class a small probability, so these "
               "are its most confident mistakes — or images whose label is doubtful.")
    indices, losses = compare.highest_loss(ev, GRID, run.config.loss)
    image_grid(image_grid_items(ev, indices, x_test, notes=loss_notes(losses)))


# ------------------------------------------------------------------------------ the page
st.title("🔍 Predictions")
run = run_ui()
ev, x_test = evaluation_ui(run)
draw_scores(run, ev)
draw_grids(ev, x_test)
draw_confusions(ev)
draw_highest_loss(run, ev, x_test)
