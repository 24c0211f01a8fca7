"""Finding saved runs: one page of the runs this session may see, and the run picker of the pages that show one run."""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from nets.runs import PAGE_SIZE, CheckpointError, Run, RunFilter, RunRow, get_run, index
from pages._identity import access
from pages._service import checkpoints_root


def find_runs(flt: RunFilter = RunFilter(), limit: int = PAGE_SIZE, offset: int = 0,
              order: str = "newest", count: bool = True) -> tuple[list[RunRow], int | None]:
    """One page of the saved runs this session may see (nets.runs.access, applied in the index's query)
    that match `flt`, and how many match in all (None with count=False). Reads the index, never
    every run folder."""
    idx, who = index(checkpoints_root()), access()
    return idx.query(flt, who, limit, offset, order), (idx.count(flt, who) if count else None)


PICKER_LIMIT = 50  # the newest matches a picker lists; typing narrows the rest


def run_label(row: RunRow) -> str:
    return f"{row.name} · {row.model} on {row.dataset}"


def _usable(run_id: str, flt: RunFilter) -> RunRow | None:
    """The run's index row if this session may see it and it passes the filter (whatever its age)."""
    if not run_id:
        return None
    rows, _ = find_runs(replace(flt, text="", id=run_id), limit=1, count=False)
    return rows[0] if rows else None


def run_picker_ui(label: str, key: str, flt: RunFilter, default: str = "", empty: str = "") -> Run:
    """One saved run, found by typing part of its name: the newest matching runs this session may
    see in a select box, the choice kept across pages in `selected_run` (else the page's own last
    choice, else `default`). Stops the page with `empty` when there is none."""
    pick, search = st.columns([2, 1], vertical_alignment="bottom")
    text = search.text_input("Search runs", key=f"{key}_search", placeholder="part of a name or id",
                             max_chars=100,  # a huge pattern is refused by SQLite's LIKE
                             help="The list holds the newest matching runs; type to find older ones.")
    rows, total = find_runs(replace(flt, text=text), limit=PICKER_LIMIT)
    by_id = {r.id: r for r in rows}
    # The remembered run stays listed even when it is older than the newest matches.
    remembered = [i for i in (st.session_state.get("selected_run"), st.session_state.get(key), default) if i]
    current = next((row for i in remembered if (row := by_id.get(i) or _usable(i, flt)) is not None), None)
    if text and rows and (current is None or current.id not in by_id):
        current = rows[0]  # a search picks its newest match
    elif current is not None and current.id not in by_id:
        by_id = {current.id: current, **by_id}
    if not by_id:
        st.info(empty or "No saved run yet: train one on the Train page.")
        st.stop()
    ids = list(by_id)
    wanted = current.id if current is not None else ids[0]
    if st.session_state.get(key) != wanted:
        st.session_state[key] = wanted
    with pick:  # a choice made here becomes the remembered one before the next run of the page
        run_id = st.selectbox(label, ids, key=key, format_func=lambda i: run_label(by_id[i]),
                              on_change=lambda: st.session_state.update(selected_run=st.session_state[key]))
    if text and not rows:
        st.caption(f"No run matches '{text}'; the list keeps the current one.")
    elif total > len(rows):
        st.caption(f"The {len(rows)} newest of {total:,} matching runs; type in the search box to find others.")
    st.session_state["selected_run"] = run_id
    try:
        run = get_run(checkpoints_root(), run_id)
    except CheckpointError as e:
        st.error(str(e))
        st.stop()
    if not access().can_view(run.info):  # checked on the record itself, not only in the list
        st.error("This run is not yours and has not been shared with the class.")
        st.stop()
    return run
