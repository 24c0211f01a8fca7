"""Confusion matrices drawn for comparing runs (not a page): one clickable matrix per run with the test images
behind a clicked cell, and two runs' difference with the classes that changed. Runs and the Data lab use them."""
import streamlit as st

from nets.charts import confusion, grids
from nets.engine.data import DatasetError
from nets.runs import CheckpointError, compare
from nets.runs.folder import no_weights
from nets.status import Status
from nets.text import plain
from pages._cached import run_dataset, run_evaluation

MAX_MATRICES = 6   # two to a row, each large enough to read its numbers
PER_ROW = 2
MAX_CELL_IMAGES = 32
CELL_IMAGE_SIZE = 64  # MNIST's 28 px drawn at 56, CIFAR's 32 px at 64
SHEET_WIDTH = {1: 900, 2: 460}  # pixels for the cell's images: a whole or half column at 1366×768


def evaluation_or_reason(run):
    """The run's test evaluation, or None after saying on the page why there is none."""
    if not run.has_model:
        st.info("No matrix yet: training, no model saved yet (the first is saved when its first epoch ends)."
                if run.info.get("status") == Status.RUNNING else
                "No matrix: " + no_weights("this run"))
        return None
    try:
        return run_evaluation(run)
    except (CheckpointError, DatasetError, ValueError, OSError) as e:
        st.error(plain(e))
        return None


def grid_rows(items: list, per_row: int = PER_ROW):
    """Columns for `items`, `per_row` to a row: (item, column) pairs."""
    for start in range(0, len(items), per_row):
        yield from zip(items[start:start + per_row], st.columns(per_row, gap="medium"))


def cell_images(ev, run, t: int, p: int, width: int) -> None:
    """The test images behind the clicked cell (t, p), as one compact grid picture."""
    idx = ev.indices_of(t, p)
    what = "correctly classified" if t == p else f"predicted as {ev.classes[p]}"
    if len(idx) == 0:
        st.markdown(f"No test image of class **{plain(ev.classes[t])}** was {plain(what)}.")
        return
    try:
        x_test = run_dataset(run).x_test
    except DatasetError as e:
        st.error(plain(e))
        return
    shown = idx[:MAX_CELL_IMAGES]
    images = [grids.display_image(x_test[int(i)], CELL_IMAGE_SIZE) for i in shown]
    first = f"the first {len(shown)} of " if len(idx) > len(shown) else ""
    per_row = max(1, (width + 2) // (images[0].shape[1] + 2))
    sheet = grids.contact_sheet(images, per_row=per_row, gap=2)
    st.image(sheet, width=sheet.shape[1])  # its own size: one image is not blown up to the column
    st.caption(plain(f"Above: {first}{len(idx)} test image(s) of class {ev.classes[t]} {what}, in test-set order."))


def draw_matrices(selected, labels) -> dict:
    """A clickable confusion matrix per selected run (the first few); returns their evaluations."""
    st.subheader("Confusion matrices on the test set")
    normalised = st.toggle("Rows as fractions (normalised)", value=True, key="runs_normalised",
                           help="Each row divided by the number of test images of that class; off: counts.")
    shown = selected[:MAX_MATRICES]
    if len(selected) > MAX_MATRICES:
        st.caption(f"Showing the first {MAX_MATRICES} of the {len(selected)} selected runs.")
    evaluations = {}
    per_row = PER_ROW if len(shown) > 1 else 1
    for run, col in grid_rows(shown, per_row):
        with col:
            st.markdown(f"**{plain(labels[run.id])}**")
            ev = evaluation_or_reason(run)
            if ev is None:
                continue
            evaluations[run.id] = ev
            k = len(ev.classes)
            cm = compare.normalise(ev.confusion) if normalised else ev.confusion
            chart = confusion.heatmap(confusion.confusion_frame(cm, ev.classes, normalised), ev.classes,
                                    normalised=normalised, size=360 if len(shown) == 1 else 300)
            state = st.altair_chart(chart, key=f"cm_{run.id}", on_select="rerun",
                                    selection_mode=confusion.CELL_PARAM, width="content")
            (best, best_acc), (worst, worst_acc) = ev.best_class(), ev.worst_class()
            st.caption(f"Test accuracy {ev.accuracy:.1%} · best class **{plain(best)}** ({best_acc:.0%}) · "
                       f"worst class **{plain(worst)}** ({worst_acc:.0%})")
            cell = confusion.parse_cell_selection(state, k=k)
            if cell is None:
                st.caption("Click a cell to see its test images.")
            else:
                cell_images(ev, run, *cell, SHEET_WIDTH[per_row])
    return evaluations


def draw_difference(selected, labels, evaluations) -> None:
    """With exactly two runs: B's normalised matrix minus A's, and which classes changed."""
    if len(selected) != 2 or not all(r.id in evaluations for r in selected):
        return
    a, b = selected
    st.subheader(plain(f"From {labels[a.id]} to {labels[b.id]}"))
    try:
        diff = compare.confusion_difference(evaluations[a.id], evaluations[b.id])
    except ValueError as e:
        st.info(plain(e))
        return
    left, right = st.columns([3, 2])
    frame = confusion.confusion_frame(diff.matrix, diff.classes, normalised=True, signed=True)
    left.altair_chart(confusion.heatmap(frame, diff.classes, difference=True,
                                      title="Where B is better (blue) or worse (red) than A", size=360),
                      width="content")
    with right:
        st.caption(f"A = {plain(labels[a.id])}, B = {plain(labels[b.id])}. {confusion.BETTER_CAPTION}")
        for line in diff.summary(labels[a.id], labels[b.id]):
            st.markdown(plain(line))
