"""Server: the lecturer's view of the classroom server: every job with its owner, device, time
and memory, the worker processes, the latest problems; the lecturer can stop any job."""
import pandas as pd
import streamlit as st

from nets.engine.config import ConfigError
from nets.runs.access import Access
from nets.server.budget import LABELS
from nets.server.lecturer_view import counts, job_rows, worker_rows
from nets.status import ACTIVE
from nets.text import plain
from pages._common import ensure_app_entry
from pages._identity import access
from pages._service import job_manager, server_log
from pages._widgets import dash_table

ensure_app_entry()

REFRESH = 2.0  # seconds: enough to see jobs move, cheap for one lecturer's tab
SHOWN_PROBLEMS = 20


def stop(job_id: str) -> None:
    job_manager().stop(job_id, access())  # the job service checks that this is the lecturer


# ------------------------------------------------------------------------------ choices
def lecturer_ui() -> Access:
    """This session's access; stops the page for anyone who may not see every job."""
    who = access()
    if not who.everything:
        st.info("This page is the lecturer's: unlock lecturer mode in the sidebar to see every job on the server.")
        st.stop()
    if not who.lecturer:
        st.caption("A single-user server (no lecturer password): this view is read-only; each tab stops its own "
                   "jobs on the Train page.")
    return who


# ------------------------------------------------------------------------------ drawing
def draw_counts(rows: list[dict], workers: list[dict], in_process: bool) -> None:
    shown = counts(rows, workers, in_process)
    for col, (label, value) in zip(st.columns(len(shown)), shown.items()):
        col.metric(label, value)


def draw_jobs(rows: list[dict], who: Access) -> None:
    st.subheader("Jobs")
    if not rows:
        st.caption("No jobs since the server started.")
    else:
        st.dataframe(dash_table(rows).drop(columns=["id"]), hide_index=True, width="stretch",
                     column_config={"elapsed s": st.column_config.NumberColumn(format="%.0f"),
                                    "memory MB": st.column_config.NumberColumn(format="%.0f")})
    active = [r for r in rows if r["status"] in ACTIVE]
    if who.lecturer and active:
        st.caption("Stop a job (a running one keeps its best model; a queued one is cancelled):")
        for r in active:
            c1, c2 = st.columns([5, 1], vertical_alignment="center")
            c1.markdown(f"**{plain(r['job'])}** · {plain(r['owner'])} · {r['status']}")
            c2.button("Stop", key=f"server-stop-{r['id']}", on_click=stop, args=(r["id"],), width="stretch")


def draw_workers(workers: list[dict], restarts: int) -> None:
    if not workers:
        return
    st.subheader("Worker processes")
    st.dataframe(dash_table(worker_rows(workers)), hide_index=True, width="stretch",
                 column_config={"memory MB": st.column_config.NumberColumn(format="%.0f")})
    if restarts:
        st.caption(f"{restarts} worker process(es) died and were replaced since the server started.")


def draw_problems() -> None:
    st.subheader("Recent problems")
    problems = server_log().snapshot()
    if not problems:
        st.caption("No job failures, lost workers or page errors since the server started.")
    for p in problems[:SHOWN_PROBLEMS]:
        with st.expander(f"{p['time']} · {p['level']} · {plain(p['message'], 140)}"):  # holds names and labels
            st.caption(plain(p["where"]))
            st.code(p["details"] or p["message"], language=None, wrap_lines=True)


@st.fragment(run_every=REFRESH)
def server_ui(who: Access) -> None:
    """A fragment: the job list refreshes on its own without rerunning the page."""
    manager = job_manager()
    workers = manager.workers()
    rows = job_rows(manager.overview(who), workers)
    draw_counts(rows, workers, in_process=manager.in_process())
    draw_jobs(rows, who)
    draw_workers(workers, manager.restarts())
    draw_problems()


def budget_ui(who: Access) -> None:
    """The lecturer's limits on what one student may cost (nets.server.budget), saved on the server."""
    manager = job_manager()
    limits = manager.budget().to_dict()
    with st.expander("Budget: what one student may cost (0: no limit)"):
        st.caption("Defaults follow this machine (its memory shared by the jobs that may run at once) and the "
                   "`NNLAB_BUDGET_*`, `NNLAB_QUEUE_PER_STUDENT` and `NNLAB_DISK_QUOTA_MB` variables; what you "
                   "save here overrides them. A job over the budget is refused before it queues, with the reason.")
        if not who.everything:  # the lecturer sets it; on a single-user laptop its one user does
            st.dataframe(pd.DataFrame([{"limit": LABELS[k], "value": v} for k, v in limits.items()]),
                         hide_index=True, width="stretch")
            return
        with st.form("budget"):
            values = {k: st.number_input(LABELS[k], min_value=0, value=int(v), step=1, key=f"budget-{k}")
                      for k, v in limits.items()}
            if st.form_submit_button("Save the budget"):
                try:
                    manager.set_budget(values, who)
                    st.success("Saved: new jobs are checked against these limits.")
                except ConfigError as e:
                    st.error(str(e))


# ------------------------------------------------------------------------------ the page
st.title("🖥️ Server")
_who = lecturer_ui()
budget_ui(_who)
server_ui(_who)
