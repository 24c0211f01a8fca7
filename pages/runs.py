"""Runs: every saved run in one table; curves and confusion matrices of the selected runs side by
side; rename, delete (after confirmation) and download a run."""
import json
from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from nets import compare
from nets.data import DatasetError
from nets.plots import LOSS_NAMES, by_epoch, loss_panels
from nets.runs import (
    MODEL_FILE,
    CheckpointError,
    clean_up,
    delete_run,
    disk_usage,
    get_run,
    rename_run,
    update_run,
)
from pages._common import (
    access,
    checkpoints_root,
    ensure_app_entry,
    run_dataset,
    run_evaluation,
    visible_runs,
)

ensure_app_entry()

LESSON = Path(__file__).resolve().parent.parent / "assets" / "runs.md"
MAX_MATRICES = 6   # two to a row, each large enough to read its numbers
PER_ROW = 2
MAX_CELL_IMAGES = 32
CELL_IMAGE_SIZE = 64  # MNIST's 28 px drawn at 56, CIFAR's 32 px at 64
SHEET_WIDTH = {1: 900, 2: 460}  # pixels for the cell's images: a whole or half column at 1366×768
CONFIRM, FLASH, VERSION = "runs_confirm_delete", "runs_flash", "runs_table_version"
CLEAN_CONFIRM = "runs_confirm_clean_up"
# What tells runs apart first, so that it fits at 1366×768; the rest scrolls behind the pinned name.
TABLE_ORDER = ["name", "test accuracy", "loss", "optimizer", "model", "dataset", "best epoch", "status",
               "parameters", "seconds", "created", "id"]


def evaluation_or_reason(run):
    """The run's test evaluation, or None after saying on the page why there is none."""
    if not run.has_model:
        st.info("No matrix: this run has no saved model (it ended before its first epoch finished).")
        return None
    try:
        return run_evaluation(run)
    except (CheckpointError, DatasetError, ValueError, OSError) as e:
        st.error(str(e))
        return None


def flash(kind: str, text: str) -> None:
    # Callbacks run before the page, so a message must wait in the session until the page draws it.
    st.session_state[FLASH] = (kind, text)


def allowed(root, run_id: str) -> bool:
    """Checked again when the click arrives: the buttons are hidden, the rule is enforced here."""
    try:
        ok = access().can_modify(get_run(root, run_id).info)
    except CheckpointError as e:
        flash("error", str(e))
        return False
    if not ok:
        flash("error", "Only the student who trained this run, or the lecturer, can change it.")
    return ok


def do_share(root, run_id: str, key: str) -> None:
    if access().lecturer:
        update_run(get_run(root, run_id), shared=bool(st.session_state.get(key)))


def do_rename(root, run_id: str, key: str) -> None:
    if not allowed(root, run_id):
        return
    try:
        run = rename_run(root, run_id, st.session_state.get(key, ""))
        flash("success", f"Renamed to '{run.name}'.")
    except CheckpointError as e:
        flash("error", str(e))


def do_delete(root, run_id: str) -> None:
    st.session_state.pop(CONFIRM, None)
    if not allowed(root, run_id):
        return
    try:
        delete_run(root, run_id)
    except (CheckpointError, OSError) as e:
        flash("error", str(e))
        return
    if st.session_state.get("selected_run") == run_id:
        del st.session_state["selected_run"]
    # A new table key: row positions of the old selection would now point at other runs.
    st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1
    flash("success", f"Deleted run {run_id}.")


def do_clean_up(root) -> None:
    st.session_state.pop(CLEAN_CONFIRM, None)
    removed = clean_up(root)
    st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1
    flash("success", f"Removed {len(removed)} run(s) that failed, diverged, were stopped or interrupted.")


def clean_up_ui(root, runs) -> None:
    """The lecturer's broom: runs that did not finish take disk space and clutter the table."""
    unfinished = [r for r in runs if r.info.get("status") in ("failed", "interrupted", "diverged", "stopped")]
    with st.expander(f"Disk: {disk_usage(root) / 2**20:,.1f} MB in `{root}` · clean up"):
        if not unfinished:
            st.caption("Every run here finished; nothing to clean up.")
        elif st.session_state.get(CLEAN_CONFIRM):
            st.warning(f"Delete {len(unfinished)} run(s) that failed, diverged, were stopped or interrupted?")
            yes, no = st.columns(2)
            yes.button("Yes, delete them", on_click=do_clean_up, args=(root,), type="primary")
            no.button("Cancel", on_click=lambda: st.session_state.pop(CLEAN_CONFIRM, None))
        else:
            st.button(f"Remove {len(unfinished)} unfinished run(s)…",
                      on_click=lambda: st.session_state.__setitem__(CLEAN_CONFIRM, True))


def read_bytes(path: Path) -> bytes:
    return path.read_bytes()


def cell_images(ev, run, t: int, p: int, width: int) -> None:
    """The test images behind the clicked cell (t, p), as one compact grid picture."""
    idx = ev.indices_of(t, p)
    what = "correctly classified" if t == p else f"predicted as {ev.classes[p]}"
    if len(idx) == 0:
        st.markdown(f"No test image of class **{ev.classes[t]}** was {what}.")
        return
    try:
        x_test = run_dataset(run).x_test
    except DatasetError as e:
        st.error(str(e))
        return
    shown = idx[:MAX_CELL_IMAGES]
    images = [compare.display_image(x_test[int(i)], CELL_IMAGE_SIZE) for i in shown]
    first = f"the first {len(shown)} of " if len(idx) > len(shown) else ""
    per_row = max(1, (width + 2) // (images[0].shape[1] + 2))
    sheet = compare.contact_sheet(images, per_row=per_row, gap=2)
    st.image(sheet, width=sheet.shape[1])  # its own size: one image is not blown up to the column
    st.caption(f"Above: {first}{len(idx)} test image(s) of class {ev.classes[t]} {what}, in test-set order.")


def grid_rows(items: list, per_row: int = PER_ROW):
    """Columns for `items`, `per_row` to a row: (item, column) pairs."""
    for start in range(0, len(items), per_row):
        yield from zip(items[start:start + per_row], st.columns(per_row, gap="medium"))


st.title("📊 Runs")
with st.expander("How to read a confusion matrix and compare runs"):
    st.markdown(LESSON.read_text())

root = checkpoints_root()
runs, problems = visible_runs(root)  # a student: their own, shared and ownerless runs
who = access()
for p in problems:
    st.warning(f"Skipped a folder: {p}")
if (message := st.session_state.pop(FLASH, None)) is not None:
    (st.success if message[0] == "success" else st.error)(message[1])
if not runs:
    st.info(f"No saved runs in `{root}` yet. Train one on the Train page.")
    st.stop()
if who.everything:
    clean_up_ui(root, runs)

ids = [r.id for r in runs]
chosen = st.session_state.get("selected_run")
st.caption("Select runs (tick the boxes on the left) to compare them; click a column title to sort.")
event = st.dataframe(
    pd.DataFrame(compare.runs_table(runs)), key=f"runs_table_{st.session_state.get(VERSION, 0)}",
    on_select="rerun", selection_mode="multi-row", hide_index=True, width="stretch",
    selection_default={"selection": {"rows": [ids.index(chosen) if chosen in ids else 0]}},
    column_order=TABLE_ORDER,
    column_config={"name": st.column_config.TextColumn(width=300, pinned=True),
                   "test accuracy": st.column_config.NumberColumn(format="percent", width=105),
                   "seconds": st.column_config.NumberColumn(format="%.1f")})
selected = [runs[i] for i in event.selection.rows if 0 <= i < len(runs)]
if not selected:
    st.info("Select one or more runs in the table.")
    st.stop()
if chosen not in [r.id for r in selected]:
    st.session_state["selected_run"] = selected[0].id
labels = compare.run_labels(selected)

# ----------------------------------------------------------------------------- manage one run
st.subheader("Manage a run")
if len(selected) > 1:
    target_id = st.selectbox("Run", [r.id for r in selected], format_func=labels.get)
    target = next(r for r in selected if r.id == target_id)
else:
    target = selected[0]
name_key = f"rename_{target.id}"
left, middle, right = st.columns([3, 2, 2], vertical_alignment="bottom")
may_modify = who.can_modify(target.info)
with left:
    if may_modify:
        st.text_input("New name", value=target.name, key=name_key, max_chars=100)
        st.button("Rename", on_click=do_rename, args=(root, target.id, name_key))
    else:
        st.caption(who.why_not(target.info))
    if who.lecturer:
        st.toggle("Shared with the class", value=bool(target.info.get("shared")), key=f"share_{target.id}",
                  on_change=do_share, args=(root, target.id, f"share_{target.id}"))
with middle:
    if not may_modify:
        pass
    elif st.session_state.get(CONFIRM) == target.id:
        st.warning(f"Delete '{target.name}' and its weights for good?")
        st.button("Yes, delete", type="primary", on_click=do_delete, args=(root, target.id))
        st.button("Cancel", on_click=lambda: st.session_state.pop(CONFIRM, None))
    else:
        st.button("Delete…", on_click=lambda rid=target.id: st.session_state.update({CONFIRM: rid}))
with right:
    st.download_button("Download model.pt", data=partial(read_bytes, target.path / MODEL_FILE),
                       file_name=f"{target.id}-model.pt", mime="application/octet-stream",
                       on_click="ignore", disabled=not target.has_model)
    st.download_button("Download run.json", data=json.dumps(target.info, indent=1, default=str),
                       file_name=f"{target.id}-run.json", mime="application/json", on_click="ignore")

# ----------------------------------------------------------------------------- curves
st.subheader("Training curves")
loss_df, acc_df = compare.curve_frames(selected)
if loss_df.empty:
    st.info("The selected runs have no finished epochs yet.")
else:
    kinds = [k for k in dict.fromkeys(loss_df["loss_kind"]) if k]
    if len(kinds) > 1:
        st.caption(f"{' and '.join(LOSS_NAMES.get(k, k) for k in kinds).capitalize()} are different quantities, "
                   "so each loss has its own chart and axis; compare the runs on test accuracy.")
    charts = loss_panels(loss_df, "Train and test loss by epoch")
    if not acc_df.empty:
        charts.append(by_epoch(acc_df, "accuracy", "Test accuracy by epoch"))
    for chart, col in grid_rows(charts):
        col.altair_chart(chart, width="stretch")

# ----------------------------------------------------------------------------- confusion matrices
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
        st.markdown(f"**{labels[run.id]}**")
        ev = evaluation_or_reason(run)
        if ev is None:
            continue
        evaluations[run.id] = ev
        k = len(ev.classes)
        cm = compare.normalise(ev.confusion) if normalised else ev.confusion
        chart = compare.heatmap(compare.confusion_frame(cm, ev.classes, normalised), ev.classes,
                                normalised=normalised, size=360 if len(shown) == 1 else 300)
        state = st.altair_chart(chart, key=f"cm_{run.id}", on_select="rerun",
                                selection_mode=compare.CELL_PARAM, width="content")
        (best, best_acc), (worst, worst_acc) = ev.best_class(), ev.worst_class()
        st.caption(f"Test accuracy {ev.accuracy:.1%} · best class **{best}** ({best_acc:.0%}) · "
                   f"worst class **{worst}** ({worst_acc:.0%})")
        cell = compare.parse_cell_selection(state, k=k)
        if cell is None:
            st.caption("Click a cell to see its test images.")
        else:
            cell_images(ev, run, *cell, SHEET_WIDTH[per_row])

# ----------------------------------------------------------------------------- two runs
if len(selected) == 2 and all(r.id in evaluations for r in selected):
    a, b = selected
    st.subheader(f"From {labels[a.id]} to {labels[b.id]}")
    try:
        diff = compare.confusion_difference(evaluations[a.id], evaluations[b.id])
    except ValueError as e:
        st.info(str(e))
    else:
        left, right = st.columns([3, 2])
        frame = compare.confusion_frame(diff.matrix, diff.classes, normalised=True, signed=True)
        left.altair_chart(compare.heatmap(frame, diff.classes, difference=True,
                                          title="normalised B − A", size=360), width="content")
        with right:
            st.caption(f"A = {labels[a.id]}, B = {labels[b.id]}. On the diagonal, blue means B gets "
                       "the class right more often; off the diagonal, blue means B makes that mistake "
                       "more often.")
            for line in diff.summary(labels[a.id], labels[b.id]):
                st.markdown(line)
