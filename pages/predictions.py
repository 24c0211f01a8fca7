"""Predictions: what one saved run gets right and wrong on the test set, image by image."""
import streamlit as st

from nets.engine.data import DatasetError
from nets.runs import compare
from nets.runs import CheckpointError, RunFilter
from pages._common import (
    checkpoints_root,
    ensure_app_entry,
    run_dataset,
    run_evaluation,
    run_picker_ui,
)

ensure_app_entry()

GRID = 20


def image_grid(items) -> None:
    if items:
        st.image([im for im, _ in items], caption=[c for _, c in items], width=120)  # one size: a grid
    else:
        st.caption("None.")


st.title("🔍 Predictions")
# The choice is shared with the Runs page through `selected_run` (run_picker_ui): a widget's own key
# is dropped when the user navigates to another page.
run = run_picker_ui("Run", "predictions_run", RunFilter(has_model=True, images=True),
                    empty=f"No saved run with a model in `{checkpoints_root()}` yet. Train one on the Train page.")

try:
    ev = run_evaluation(run)
    x_test = run_dataset(run).x_test
except (CheckpointError, DatasetError, ValueError, OSError) as e:
    st.error(str(e))
    st.stop()

mistakes = int((ev.predictions != ev.labels).sum())
c1, c2, c3 = st.columns(3)
c1.metric("Test accuracy", f"{ev.accuracy:.1%}")
c2.metric(f"Test loss ({run.config.loss})", f"{ev.loss:.4f}")
c3.metric("Mistakes", f"{mistakes} of {len(ev.labels)}")

st.subheader(f"The first {GRID} test images")
image_grid(compare.image_grid_items(ev, [r["index"] for r in ev.first_predictions(GRID)], x_test))

st.subheader(f"The first {GRID} mistakes")
image_grid(compare.image_grid_items(ev, [r["index"] for r in ev.first_mistakes(GRID)], x_test))

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
    st.altair_chart(compare.per_class_chart(ev, title=""), width="stretch")

st.subheader(f"The {GRID} test images with the highest loss")
st.caption("The loss is large when the network gives the true class a small probability, so these "
           "are its most confident mistakes — or images whose label is doubtful.")
indices, losses = compare.highest_loss(ev, GRID, run.config.loss)
image_grid(compare.image_grid_items(ev, indices, x_test, notes=compare.loss_notes(losses)))
