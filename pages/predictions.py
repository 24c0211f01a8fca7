"""Predictions: what one saved run gets right and wrong on the test set, image by image."""
import streamlit as st

from nets import compare
from nets.data import DatasetError
from nets.runs import CheckpointError
from pages._common import (
    checkpoints_root,
    ensure_app_entry,
    run_dataset,
    run_evaluation,
    visible_runs,
)

ensure_app_entry()

GRID = 20


def remember_run() -> None:
    st.session_state["selected_run"] = st.session_state["predictions_run"]


def image_grid(items) -> None:
    if items:
        st.image([im for im, _ in items], caption=[c for _, c in items], width=120)  # one size: a grid
    else:
        st.caption("None.")


st.title("🔍 Predictions")
root = checkpoints_root()
runs, problems = visible_runs(root)  # see nets.access
for p in problems:
    st.warning(f"Skipped a folder: {p}")
usable = [r for r in runs if r.has_model]
if not usable:
    st.info(f"No saved run with a model in `{root}` yet. Train one on the Train page.")
    st.stop()

ids = [r.id for r in usable]
labels = compare.run_labels(usable)
# The choice lives in a plain session key shared with the Runs page: a widget's own key is dropped
# when the user navigates to another page.
if st.session_state.get("selected_run") in ids:
    st.session_state["predictions_run"] = st.session_state["selected_run"]
elif st.session_state.get("predictions_run") not in ids:
    st.session_state["predictions_run"] = ids[0]
run_id = st.selectbox("Run", ids, format_func=labels.get, key="predictions_run", on_change=remember_run)
st.session_state["selected_run"] = run_id
run = usable[ids.index(run_id)]

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
