"""The Train page's live view (not a page): a job's progress, charts, outcome and doctor, the
four-configuration group, and the server's job list. Polled by two fragments, never redrawn per batch."""
from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from nets.doctor import diagnose
from nets.jobs import JobView
from nets.plots import by_epoch, epochs_frame, loss_points_frame, loss_vs_images
from pages._common import job_manager, load_train_config

JOB_KEY, GROUP_KEY = "train_job", "train_group"
PROGRESS_EVERY, CHARTS_EVERY = 1.0, 5.0  # seconds between redraws while a job runs
QUEUED_EVERY = 3.0  # a queued job changes rarely; thirty waiting tabs polling each second cost a core


def attach(job_id: str | None, group: str | None = None) -> None:
    st.session_state[JOB_KEY] = job_id
    st.session_state[GROUP_KEY] = group
    if job_id:
        st.query_params["job"] = job_id  # a browser refresh finds the job again
    elif "job" in st.query_params:
        del st.query_params["job"]


def progress_ui(v: JobView) -> None:
    if v.status == "queued":
        st.info(f"Queued: position {v.position} — it starts when a running job finishes.")
        return
    p = v.progress
    if not p:
        st.progress(0.0, text=v.phase or "Loading data and building the model…")
        return
    done = ((p["epoch"] - 1) * p["batches"] + p["batch"]) / (p["batches"] * v.config.epochs)
    st.progress(min(done, 1.0), text=f"epoch {p['epoch']}/{v.config.epochs} · batch {p['batch']}/{p['batches']}"
                + (f" · ETA {p['eta_s']:.0f} s" if v.active else "") + f" · {p['images_per_s']:,.0f} images/s")


def charts_ui(v: JobView) -> None:
    left, mid, right = st.columns(3)
    left.altair_chart(loss_vs_images(loss_points_frame(v.loss_points, max_points=200)), width="stretch")
    if v.epochs:
        mid.altair_chart(by_epoch(epochs_frame(v.epochs, "loss"), "loss"), width="stretch")
        right.altair_chart(by_epoch(epochs_frame(v.epochs, "accuracy"), "accuracy"), width="stretch")
    else:
        mid.caption("Loss and accuracy by epoch appear when the first epoch ends.")


def outcome_ui(v: JobView) -> None:
    if v.status == "failed":
        st.error(f"Training failed: {v.error}")
        return
    s = v.summary
    if not s:
        return
    acc = f"{s['best_test_acc']:.2%}" if s["best_test_acc"] is not None else "—"
    words = {"completed": "Finished", "stopped": "Stopped", "early-stopped": "Stopped early (no improvement)",
             "diverged": "Diverged"}.get(s["status"], s["status"])
    st.success(f"{words}: best test accuracy **{acc}** at epoch {s['best_epoch'] or '—'}, "
               f"{s['seconds']:.1f} s, {s['images_per_s']:,.0f} images/s. Saved as run `{s['run_id']}`.")
    st.page_link("pages/runs.py", label="Compare it in Runs", icon="📊")


def doctor_ui(v: JobView) -> None:
    for i, advice in enumerate(diagnose(v.config, v.epochs, v.notes, 10)):
        with st.container(border=True):
            st.markdown(f"🩺 **{advice.title}**  \n{advice.message}")
            st.button(advice.action, key=f"doctor-{v.id}-{i}", on_click=load_train_config, args=(advice.apply(v.config),))


def job_ui(job_id: str) -> None:
    v = job_manager().view(job_id)
    if v is None:
        st.warning("That job is no longer on this server (it was restarted or the job was cleared).")
        attach(None)
        return
    st.subheader(f"{v.label} · {v.status}")
    progress_ui(v)
    if v.active:
        st.button("Stop", key=f"stop-{v.id}", on_click=job_manager().stop, args=(v.id,), type="primary")
    outcome_ui(v)
    doctor_ui(v)


def group_ui(group: str) -> None:
    views = job_manager().views(group=group)
    st.subheader("The four configurations")
    rows = [{"run": v.label, "status": v.status if v.status != "queued" else f"queued ({v.position})",
             "best test acc": v.summary["best_test_acc"] if v.summary else None,
             "best epoch": v.summary["best_epoch"] if v.summary else None} for v in views]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"best test acc": st.column_config.NumberColumn(format="percent")})
    if any(v.active for v in views):
        st.button("Stop all four", on_click=job_manager().stop_group, args=(group,))


def group_chart_ui(group: str) -> None:
    started = [v for v in job_manager().views(group=group) if v.epochs]
    if started:
        frames = pd.concat([epochs_frame(v.epochs, "accuracy", v.label) for v in started])
        st.altair_chart(by_epoch(frames[frames["split"] != "train"], "accuracy", "Test accuracy by epoch"),
                        width="stretch")


def live_ui() -> None:
    """Two polling fragments: the cheap status every PROGRESS_EVERY seconds, the charts only every
    CHARTS_EVERY seconds (each redraw costs the server and, more, the browser: on a 2-core machine
    redrawing three charts twice a second took a quarter of the training speed)."""
    job_id, group = st.session_state.get(JOB_KEY), st.session_state.get(GROUP_KEY)
    if not job_id:
        return
    manager = job_manager()

    def is_active() -> bool:
        if group:
            return any(v.active for v in manager.views(group=group))
        v = manager.view(job_id)
        return bool(v and v.active)

    def shown() -> str:  # in a group, the job that is running now
        running = [v for v in manager.views(group=group) if v.status == "running"] if group else []
        return running[0].id if running else job_id

    def is_waiting() -> bool:  # everything we show is still queued
        views = manager.views(group=group) if group else [manager.view(job_id)]
        return all(v is not None and v.status == "queued" for v in views)

    active = is_active()
    waiting = active and is_waiting()

    @st.fragment(run_every=(QUEUED_EVERY if waiting else PROGRESS_EVERY) if active else None)
    def live_status():
        if group:
            group_ui(group)
        job_ui(shown())
        if (active and not is_active()) or (waiting and not is_waiting()):
            st.rerun()  # once: polling switches off, or speeds up and the charts start

    @st.fragment(run_every=CHARTS_EVERY if active and not waiting else None)
    def live_charts():
        if group:
            group_chart_ui(group)
        v = manager.view(shown())
        if v is not None and v.status != "queued":
            charts_ui(v)

    live_status()
    live_charts()


def jobs_list_ui() -> None:
    views = job_manager().views()
    if not views:
        return
    with st.expander(f"This server's jobs ({sum(v.active for v in views)} active)"):
        for v in reversed(views):
            c1, c2 = st.columns([4, 1])
            acc = (f" · {v.summary['best_test_acc']:.1%}" if v.summary and v.summary["best_test_acc"] is not None
                   else "")
            c1.write(f"**{v.label}** · {v.status}{acc} · started {time.strftime('%H:%M:%S', time.localtime(v.created))}")
            c2.button("Show", key=f"show-{v.id}", on_click=attach, args=(v.id, v.group or None))
