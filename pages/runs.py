"""Runs: the saved runs, filtered and paged from the index; curves and confusion matrices of the
selected runs side by side; rename, star, share, delete and download a run; exports of the selected runs;
the lecturer's clean-up."""
import json
from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from nets.plots import LOSS_NAMES, by_epoch, curve_frames, loss_panels
from nets.runs import compare
from nets.runs.table import MISSING, NAME_CHARS, runs_table
from nets.runs.rows import MAX_SEARCH_CHARS, record_problem
from nets.status import UNFINISHED, Status
from nets.text import plain
from nets.server.identity import owner_label
from nets.runs import (
    PAGE_SIZE,
    CheckpointError,
    RunFilter,
    clean_up,
    clean_up_candidates,
    delete_run,
    disk_usage,
    get_run,
    index,
    rename_run,
    set_shared,
    set_starred,
)
from pages._common import ensure_app_entry
from pages._build_ui import open_in_builder_ui
from pages._compare_ui import draw_difference, draw_matrices, grid_rows
from pages._dynamics import runs_inside_ui
from pages._identity import access
from pages._runpick import find_runs
from pages._service import checkpoints_root
from pages._export import export_ui

ensure_app_entry()

LESSON = Path(__file__).resolve().parent.parent / "assets" / "runs.md"
KEEP = "session"   # filters and the page number survive a visit to another page
CONFIRM, FLASH, VERSION = "runs_confirm_delete", "runs_flash", "runs_table_version"
CLEAN_CONFIRM, SEARCH = "runs_confirm_clean_up", "runs_text"
PAGE_KEY, FILTERS_SEEN, ROWS_SEEN, PICKED = "runs_page", "runs_filters_seen", "runs_rows_seen", "runs_picked"
ORDERS = {"newest": "Newest first", "accuracy": "Best test accuracy", "name": "Name (A–Z)", "oldest": "Oldest first"}
# What tells runs apart first, so that it fits at 1366×768; the rest scrolls behind the pinned name.
# The status comes right after the accuracy: "running" or "failed" explains a missing one.
TABLE_ORDER = ["name", "starred", "test accuracy", "status", "owner", "loss", "optimizer", "model", "dataset",
               "best epoch", "parameters", "seconds", "created", "id"]
NAME_WIDTH = 7 * NAME_CHARS + 20  # pixels for NAME_CHARS characters: both ends of "lenet · mnist-mini · adam lr 0.01 · …"


# ----------------------------------------------------------------------------- callbacks
def flash(kind: str, text: str) -> None:
    """A message for the next run of the page; `text` is shown as text (it holds run names)."""
    # Callbacks run before the page, so a message must wait in the session until the page draws it.
    st.session_state[FLASH] = (kind, text)


def do_rename(root, run_id: str, key: str) -> None:
    try:
        run = rename_run(root, run_id, st.session_state.get(key, ""), access())
    except CheckpointError as e:
        flash("error", str(e))
        return
    search = str(st.session_state.get(SEARCH) or "")
    if not RunFilter(text=search).matches_text(run.name, run.id):  # the renamed run would vanish from the table
        st.session_state[SEARCH] = ""
        flash("success", f"Renamed to '{run.name}'. The search '{search.strip()}' no longer matched it, "
                         "so it was cleared: the run stays in view.")
    else:
        flash("success", f"Renamed to '{run.name}'.")


def do_star(root, run_id: str, key: str) -> None:
    starred = bool(st.session_state.get(key))
    try:
        run = set_starred(root, run_id, starred, access())
    except CheckpointError as e:
        flash("error", str(e))
        return
    flash("success", f"Starred '{run.name}': the clean-up keeps it." if starred
          else f"'{run.name}' is no longer starred.")


def do_share(root, run_id: str, key: str) -> None:
    try:
        set_shared(root, run_id, bool(st.session_state.get(key)), access())
    except CheckpointError as e:
        flash("error", str(e))


def do_delete(root, run_id: str) -> None:
    st.session_state.pop(CONFIRM, None)
    try:
        freed = delete_run(root, run_id, access())  # nets checks who may, whatever the page showed
    except (CheckpointError, OSError) as e:
        flash("error", str(e))
        return
    if st.session_state.get("selected_run") == run_id:
        del st.session_state["selected_run"]
    flash("success", f"Deleted run {run_id} ({freed / 2**20:,.1f} MB freed).")


def do_clean_up(root, days: float, statuses: list[str]) -> None:
    st.session_state.pop(CLEAN_CONFIRM, None)
    try:
        report = clean_up(root, access(), days, statuses)
    except CheckpointError as e:
        flash("error", str(e))
        return
    flash("success", report.message())


# ----------------------------------------------------------------------------- choices
def clean_up_ui(root) -> None:
    """The lecturer's broom: runs that did not finish take disk space and clutter the table. Drawn
    only while open: the disk use and the preview grow with the number of runs, the page must not."""
    box = st.expander("🧹 Disk use and clean-up", key="runs_clean_open", on_change="rerun")
    if not box.open:
        return
    with box:
        st.caption(f"The runs in `{root}` take **{disk_usage(root) / 2**20:,.1f} MB**.")
        left, right = st.columns([1, 3])
        days = left.number_input("Older than (days)", min_value=0, value=7, step=1, key="runs_clean_days",
                                 help="0: any age.")
        statuses = list(UNFINISHED) + [s for s in index(root).choices("status") if s not in UNFINISHED + (Status.RUNNING,)]
        chosen = right.multiselect("With status", statuses, default=list(UNFINISHED), key="runs_clean_statuses",
                                   help="A running run is never removed.")
        candidates = clean_up_candidates(root, days, chosen)
        st.caption("⭐ Starred runs are always kept, whatever their age or status.")
        age = f"more than {days} day(s) old" if days else "of any age"
        if not candidates:
            st.caption(f"No unstarred run {age} with those statuses: nothing to clean up.")
        elif st.session_state.get(CLEAN_CONFIRM):
            mb = sum(r.bytes for r in candidates) / 2**20
            st.warning(f"Delete {len(candidates)} run(s) {age} ({mb:,.1f} MB) for good?")
            yes, no = st.columns(2)
            yes.button("Yes, delete them", on_click=do_clean_up, args=(root, days, chosen), type="primary")
            no.button("Cancel", on_click=lambda: st.session_state.pop(CLEAN_CONFIRM, None))
        else:
            st.button(f"Remove {len(candidates)} run(s)…",
                      on_click=lambda: st.session_state.__setitem__(CLEAN_CONFIRM, True))


def menu_ui(col, label: str, options: list[str], key: str) -> str:
    """A filter menu whose first entry means 'any'; a remembered value that is gone reads as 'any'."""
    options = ["", *options]
    if st.session_state.get(key) not in options:
        st.session_state[key] = ""
    return col.selectbox(label, options, key=key, format_func=lambda v: v or "any", persist_state=KEEP)


def filters_ui(root, who):
    """The filter and sort order the table shows, and an empty column beside them for the pager."""
    idx = index(root)
    scopes = {"all": "Everyone's" if who.everything else "All I can see", "mine": "Mine",
              "shared": "Shared with the class"}
    scope, dataset, model, status, text = st.columns([1.3, 1, 1, 1, 1.7], vertical_alignment="bottom")
    chosen = dict(
        scope=scope.selectbox("Show", list(scopes), format_func=scopes.get, key="runs_scope", persist_state=KEEP),
        dataset=menu_ui(dataset, "Dataset", idx.choices("dataset", who), "runs_dataset"),
        model=menu_ui(model, "Model", idx.choices("model", who), "runs_model"),
        status=menu_ui(status, "Status", idx.choices("status", who), "runs_status"),
        text=text.text_input("Search", key=SEARCH, placeholder="part of a name or id", persist_state=KEEP,
                             max_chars=MAX_SEARCH_CHARS))
    order, starred, pager = st.columns([1.3, 1.4, 3.3], vertical_alignment="bottom")
    chosen_order = order.selectbox("Sort by", list(ORDERS), format_func=ORDERS.get, key="runs_order",
                                   persist_state=KEEP)
    chosen["starred"] = starred.toggle("⭐ Starred only", key="runs_starred", persist_state=KEEP,
                                       help="Starred runs (by their owner or the lecturer) survive the clean-up.")
    return RunFilter(**chosen), chosen_order, pager


def page_number(flt: RunFilter, order: str) -> int:
    """The page asked for: back to the first one whenever the filter or the order changes."""
    seen = (flt, order)
    if st.session_state.get(FILTERS_SEEN, seen) != seen:
        st.session_state.pop(PAGE_KEY, None)  # the pager starts again at its default
    st.session_state[FILTERS_SEEN] = seen
    return max(1, int(st.session_state.get(PAGE_KEY) or 1))


def page_ui(pager, page: int, total: int, shown: int) -> None:
    """Where this page sits among the matching runs; the number itself was read before the query."""
    pages = max(1, -(-total // PAGE_SIZE))
    with pager.container(horizontal=True, vertical_alignment="center"):
        first = (page - 1) * PAGE_SIZE + 1
        st.caption(f"Rows {first:,}–{first + shown - 1:,} of {total:,}", width="content")
        if pages > 1:
            st.pagination(pages, default=page, key=PAGE_KEY, persist_state=KEEP, width="stretch")


def table_key(rows) -> str:
    """The table's key changes whenever its rows do (another page, a filter, a deletion, a new run):
    a selection holds row positions, which would otherwise point at other runs."""
    ids = tuple(r.id for r in rows)
    if st.session_state.get(ROWS_SEEN) != ids:
        st.session_state[ROWS_SEEN] = ids
        st.session_state[VERSION] = st.session_state.get(VERSION, -1) + 1
    return f"runs_table_{st.session_state[VERSION]}"


def table_ui(rows, who) -> list:
    """The page of runs as a table; returns the rows selected in it."""
    ids = [r.id for r in rows]
    # A fresh table keeps what was selected before, where those runs are still on this page.
    kept = [ids.index(i) for i in st.session_state.get(PICKED, []) if i in ids]
    chosen = st.session_state.get("selected_run")
    # Nothing chosen yet: the newest run that completed with a model (a failed run is not the first view,
    # here or on Predictions, which opens on the run selected here), else the newest.
    first = next((i for i, r in enumerate(rows) if r.status == Status.COMPLETED and r.has_model), 0)
    default = kept or [ids.index(chosen) if chosen in ids else first]
    frame = pd.DataFrame(runs_table(rows, short=True))
    frame["starred"] = frame["starred"].map({True: "⭐", False: ""})
    if who.lecturer:
        frame["owner"] = [owner_label(r.owner, who.owner) for r in rows]
    event = st.dataframe(
        frame, key=table_key(rows), on_select="rerun", selection_mode="multi-row", hide_index=True,
        width="stretch", selection_default={"selection": {"rows": default}}, placeholder=MISSING,
        column_order=[c for c in TABLE_ORDER if c in frame.columns],
        column_config={"name": st.column_config.TextColumn(width=NAME_WIDTH, pinned=True,
                                                           help="A long name shows its start and its end"),
                       "starred": st.column_config.TextColumn("⭐", width=40, help="Starred: kept by the clean-up"),
                       "test accuracy": st.column_config.NumberColumn(format="percent", width=105),
                       "status": st.column_config.TextColumn(width=95),
                       "seconds": st.column_config.NumberColumn(format="%.1f")})
    selected = [rows[i] for i in event.selection.rows if 0 <= i < len(rows)]
    st.session_state[PICKED] = [r.id for r in selected]
    return selected


def read_selected(root, rows, who) -> list:
    """The selected runs read from their folders: the only run.json files this page opens."""
    runs = []
    for row in rows:
        try:
            run = get_run(root, row.id)
        except CheckpointError as e:
            st.warning(plain(f"Skipped {row.name}: {e}"))  # deleted or damaged since the index was read
            continue
        if (problem := record_problem(run.info)) is not None:  # a run.json edited or copied in by hand
            st.warning(plain(f"Skipped {row.name} ({row.id}): its run.json is damaged ({problem}). Fix the "
                             "file or delete the folder; the clean-up lists it under the status 'damaged'."))
            continue
        if who.can_view(run.info):  # checked on the record itself, not only in the index
            runs.append(run)
    return runs


# ----------------------------------------------------------------------------- drawing
def read_bytes(path: Path) -> bytes:
    return path.read_bytes()


def draw_manage(root, selected, labels, who) -> None:
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
            st.caption(plain(who.why_not(target.info)))
    with middle:
        if may_modify:
            st.toggle("⭐ Starred", value=bool(target.info.get("starred")), key=f"star_{target.id}",
                      on_change=do_star, args=(root, target.id, f"star_{target.id}"),
                      help="A starred run survives the clean-up of old unfinished runs.")
        if who.lecturer:
            st.toggle("Shared with the class", value=bool(target.info.get("shared")), key=f"share_{target.id}",
                      on_change=do_share, args=(root, target.id, f"share_{target.id}"))
        if not may_modify:
            pass
        elif st.session_state.get(CONFIRM) == target.id:
            st.warning(plain(f"Delete '{target.name}' and its weights for good?"))
            st.button("Yes, delete", type="primary", on_click=do_delete, args=(root, target.id))
            st.button("Cancel", on_click=lambda: st.session_state.pop(CONFIRM, None))
        else:
            st.button("Delete…", on_click=lambda rid=target.id: st.session_state.update({CONFIRM: rid}))
    with right:
        st.download_button("Download weights (.pt)", data=partial(read_bytes, target.weights_path),
                           file_name=f"{target.id}-model.pt", mime="application/octet-stream",
                           on_click="ignore", disabled=not target.has_model)
        st.download_button("Download run.json", data=json.dumps(target.info, indent=1, default=str),
                           file_name=f"{target.id}-run.json", mime="application/json", on_click="ignore")
        open_in_builder_ui(target.info, f"to_builder_{target.id}")


def draw_curves(selected) -> None:
    st.subheader("Training curves")
    loss_df, acc_df = curve_frames(selected)
    if loss_df.empty:
        st.info("The selected runs have no finished epochs yet.")
        return
    kinds = [k for k in dict.fromkeys(loss_df["loss_kind"]) if k]
    if len(kinds) > 1:
        st.caption(plain(f"{' and '.join(LOSS_NAMES.get(k, k) for k in kinds).capitalize()} are different "
                         "quantities, so each loss has its own chart and axis; compare the runs on test accuracy."))
    charts = loss_panels(loss_df, "Train and test loss by epoch")
    if not acc_df.empty:
        charts.append(by_epoch(acc_df, "accuracy", "Test accuracy by epoch"))
    for chart, col in grid_rows(charts):
        col.altair_chart(chart, width="stretch")


# ----------------------------------------------------------------------------- the page
st.title("📊 Runs")
with st.expander("How to read a confusion matrix and compare runs"):
    st.markdown(LESSON.read_text())

root, who = checkpoints_root(), access()
if (message := st.session_state.pop(FLASH, None)) is not None:
    (st.success if message[0] == "success" else st.error)(plain(message[1]))
if who.everything:
    clean_up_ui(root)

flt, order, pager = filters_ui(root, who)
page = page_number(flt, order)
rows, total = find_runs(flt, PAGE_SIZE, (page - 1) * PAGE_SIZE, order)
if not rows and total:  # past the last page (runs were deleted): show the last one
    page = -(-total // PAGE_SIZE)
    st.session_state.pop(PAGE_KEY, None)
    rows, total = find_runs(flt, PAGE_SIZE, (page - 1) * PAGE_SIZE, order)
if not rows:
    if find_runs(RunFilter(), limit=1)[1]:
        st.info("No run matches these filters.")
    else:
        st.info(f"No saved runs in `{root}` yet. Train one on the Train page.")
    st.stop()
page_ui(pager, page, total, len(rows))
st.caption("Tick the boxes on the left to compare runs; a click on a column title sorts this page only.")

selected = read_selected(root, table_ui(rows, who), who)
if not selected:
    st.info("Select one or more runs in the table.")
    st.stop()
if st.session_state.get("selected_run") not in [r.id for r in selected]:
    st.session_state["selected_run"] = selected[0].id  # Predictions opens on it
labels = compare.run_labels(selected)

draw_manage(root, selected, labels, who)
draw_curves(selected)
runs_inside_ui(selected)
evaluations = draw_matrices(selected, labels)
draw_difference(selected, labels, evaluations)
export_ui(selected)
