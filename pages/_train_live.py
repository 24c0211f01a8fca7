"""The Train page's live panel (not a page): a job's status, progress, charts, Stop, outcome and
doctor; the four-configuration group side by side; the server's job list. One fragment polls it."""
from __future__ import annotations

import time

import streamlit as st

from nets.engine.naming import LOSS_NAMES, common_part, default_name
from nets.plots import LIVE_POINTS, by_epoch, epochs_frame, loss_panels, loss_points_frame, loss_vs_images
from nets.coach.doctor import diagnose_job
from nets.coach.group import diagnose_group
from nets.coach.outcome import describe_job
from nets.server.waits import about, queued_text
from nets.status import SUCCEEDED, Status
from nets.text import plain
from nets.training_work import JobView
from pages._dynamics import inside_charts_ui, inside_line, inside_switch_ui, live_inside_ui, panel_columns
from pages._identity import access, shows_paths
from pages._service import checkpoints_root, job_manager
from pages._train_state import TRAIN_EDIT_KEY as EDIT_KEY, TRAIN_FIXED_KEY as FIXED_KEY, load_train_config

JOB_KEY, GROUP_KEY, FIXED_SCROLL_KEY = "train_job", "train_group", "train_fixed_scroll"
EVERY = 0.8          # seconds between redraws while a job runs: a fragment run adds its own time, and
                     # the panel must redraw at least once a second
QUEUED_EVERY = 3.0   # a queued job changes rarely; thirty waiting tabs polling each second cost a core
STYLE = {"success": st.success, "info": st.info, "warning": st.warning, "error": st.error}
BADGE = {Status.RUNNING: ":blue-badge", Status.QUEUED: ":gray-badge", Status.COMPLETED: ":green-badge",
         Status.EARLY_STOPPED: ":green-badge", Status.CONVERGED: ":green-badge", Status.STOPPED: ":orange-badge",
         Status.DIVERGED: ":red-badge", Status.FAILED: ":red-badge"}
WENT_WRONG = ("chance", "diverged")  # doctor's findings that make a finished run a warning
FIELD_WORDS = {"lr": "learning rate", "optimizer": "optimizer", "activation": "activation", "loss": "loss",
               "dropout": "dropout", "augment": "augmentation", "batch_size": "batch size", "epochs": "epochs",
               "init": "initialisation", "batch_norm": "batch norm"}


def stop_job(job_id: str) -> None:
    job_manager().stop(job_id, access())  # who is asking is checked inside, at the click


def stop_group(group: str) -> None:
    job_manager().stop_group(group, access())


def attach(job_id: str | None, group: str | None = None) -> None:
    st.session_state[JOB_KEY] = job_id
    st.session_state[GROUP_KEY] = group
    if job_id:
        st.query_params["job"] = job_id  # a browser refresh finds the job again
    elif "job" in st.query_params:
        del st.query_params["job"]


# ------------------------------------------------------------------------------ one job
def progress_ui(v: JobView) -> None:
    if v.status == Status.QUEUED:
        st.info(queued_text(v.position, v.wait_s))
        return
    p = v.progress
    if v.status == Status.RUNNING and not p:
        text = plain(v.phase) if v.phase else "Loading the data and building the model…"  # a phase may name a folder
        st.progress(min(max(v.phase_fraction or 0.0, 0.0), 1.0), text=text + inside_line(v))
        return
    if not p:
        return
    finished = v.status in SUCCEEDED  # no epochs left to go
    st.progress(1.0 if finished else v.done, text=progress_text(v) + inside_line(v))  # + the layer statistics' line


def progress_text(v: JobView) -> str:
    """The progress line. Once a run was stopped (or diverged), where it ended is the engine's note,
    the one the outcome box quotes: the last progress event may be a few batches older."""
    p, eta = v.progress, ""
    end = next((n for n in reversed(v.notes) if n.get("kind") in ("Stopped", "Diverged")), None)
    if v.active:
        eta = f" · about {p['eta_s']:.0f} s left"
    elif end is not None and end.get("batch") is not None:
        p = {**p, "epoch": end.get("epoch") or p["epoch"], "batch": end["batch"]}
    return (f"epoch {p['epoch']} of {v.config.epochs} · batch {p['batch']} of {p['batches']} · training loss "
            f"{p['loss']:.4g} · {p['images_per_s']:,.0f} images/s{eta}")


def charts_ui(v: JobView) -> None:
    """Three charts a room can read: the training loss as it falls, then loss and accuracy by epoch (or
    inside the network, pages/_dynamics.py). A run that ended before its first epoch has only the first."""
    left, mid, right = st.columns(3)
    points = loss_points_frame(v.loss_points, max_points=LIVE_POINTS)
    left.altair_chart(loss_vs_images(points, title=f"Training loss ({LOSS_NAMES.get(v.config.loss, v.config.loss)})"),
                      width="stretch")
    if not inside_charts_ui(v, mid, right) and (v.epochs or v.active):  # or the layer statistics
        after = "" if v.epochs else " (after epoch 1)"
        mid.altair_chart(by_epoch(epochs_frame(v.epochs, "loss"), "loss", "Loss by epoch" + after), width="stretch")
        right.altair_chart(by_epoch(epochs_frame(v.epochs, "accuracy"), "accuracy", "Accuracy by epoch" + after),
                           width="stretch")


def outcome_ui(v: JobView, compact: bool = False, advice=()) -> None:
    """The outcome box. `compact`: its headline only (beside the progress line, or on a card), so the
    charts stay where they were while the job trained; `outcome_details_ui` says the rest below them."""
    if v.active:
        return
    o = describe_job(v, checkpoints_root() if shows_paths() else None)
    if o is None:
        return
    if o.style == "success" and any(a.kind in WENT_WRONG for a in advice):
        o.style = "warning"  # it ran to the end, but learned nothing: not a green box
    text = f"**{o.headline}**"
    if compact and advice and not v.group:  # the doctor's card is below the charts: say it is there
        text += f"  \n🩺 {plain(advice[0].title)}: what to try is below the charts."
    if o.lines and not compact:  # an error can hold anyone's text (a folder, a class name): shown as text
        text += "  \n" + "  \n".join(plain(line) if line == v.error else line for line in o.lines)
    STYLE.get(o.style, st.info)(text)
    if not compact:
        _more(v, o)


def outcome_details_ui(v: JobView) -> None:
    """What the compact box leaves out: what was kept and where, the timing, what to do next."""
    o = describe_job(v, checkpoints_root() if shows_paths() else None)
    if o is None:
        return
    if o.lines:
        with st.expander("About this run", expanded=True):
            st.markdown("  \n".join(plain(line) if line == v.error else line for line in o.lines))
    _more(v, o)


def _more(v: JobView, o) -> None:
    if v.error_details:
        with st.expander("Details"):
            st.code(v.error_details, language=None, wrap_lines=True)
    if o.next_steps:
        st.caption(" ".join(o.next_steps))
    if v.run_id:
        st.page_link("pages/runs.py", label="Compare it in Runs", icon="📊")


def doctor_ui(v: JobView, advice, locked: frozenset[str]) -> None:
    for i, a in enumerate(advice):
        with st.container(border=True):
            st.markdown(f"🩺 **{a.title}**  \n{a.message}")
            blocked = sorted(set(a.changes) & locked)
            if st.button(a.action, key=f"doctor-{v.id}-{i}", disabled=bool(blocked),
                         help="Your lecturer fixed this setting for the lesson." if blocked else None):
                apply_fix(v, a)


def apply_fix(v: JobView, advice) -> None:
    """Fill the form with the follow-up and open it, so the changed control shows its new value.
    A whole-app rerun, not a fragment one: the form's widgets must be drawn again with it."""
    new = advice.apply(v.config)
    changed = [f"{FIELD_WORDS.get(k, k.replace('_', ' '))} {fmt(getattr(v.config, k))} → {fmt(getattr(new, k))}"
               for k in advice.changes if getattr(v.config, k) != getattr(new, k)]
    load_train_config(new)
    st.session_state[EDIT_KEY] = True
    st.session_state[FIXED_SCROLL_KEY] = True  # the button sits below the charts: back to the top, once
    name = f"“{new.name}”" if new.name else f"from its own settings: “{default_name(new)}”"
    st.session_state[FIXED_KEY] = plain("🩺 The form now has " + ", ".join(changed or ["the doctor's changes"])
                                        + f". The new run is named {name}.") + " Press **Train** to try it."
    st.rerun()


def fmt(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    text = (", ".join(map(str, value)) or "none") if isinstance(value, tuple) else str(value)
    return f"{value:g}" if isinstance(value, float) else text or "default"


def job_panel(v: JobView, locked: frozenset[str]) -> None:
    # One row for the name, status and progress, with Stop beside it (once ended: the outcome's
    # headline), so the charts stay where they were, on screen at 1366×768; the rest of the outcome
    # and the doctor's follow-up come below them.
    head, side = panel_columns(v)  # (pages/_dynamics.py: with room for the layer statistics' switch)
    with head:
        st.markdown(f"**{plain(v.label)}** {BADGE.get(v.status, ':gray-badge')}[{v.status}]")
        progress_ui(v)
        inside_switch_ui(v, side)
    advice = [] if v.active else diagnose_job(v)
    if v.active:
        side.button("Stop", key=f"stop-{v.id}", on_click=stop_job, args=(v.id,), type="primary",
                    width="stretch")
    else:
        with side:
            outcome_ui(v, compact=True, advice=advice)
    charted = v.status == Status.RUNNING or v.epochs or v.loss_points
    if charted:
        charts_ui(v)
    if not v.active:
        doctor_ui(v, advice, locked)
        outcome_details_ui(v)
    live_inside_ui(v)


# ------------------------------------------------------------------------------ four configurations
def card_ui(v: JobView, title: str) -> None:
    """One configuration's result in large type: what differs, its status and its test accuracy."""
    with st.container(border=True):
        st.markdown(f"**{plain(title)}**")
        if v.status == Status.QUEUED:
            st.caption(f"queued: position {v.position}" + (f", about {about(v.wait_s)}" if v.wait_s is not None else ""))
        elif v.status == Status.RUNNING:
            best = max((e.get("val_acc") or e["test_acc"] for e in v.epochs), default=None)
            st.progress(v.done, text="running" + (f" · best so far {best:.1%}" if best is not None else ""))
        else:
            acc = (v.summary or {}).get("best_test_acc")
            st.markdown(f"### {acc:.1%}" if acc is not None else "### no model")
            st.markdown(f"test accuracy · {BADGE.get(v.status, ':gray-badge')}[{v.status}]")


def group_panel(views: list[JobView], locked: frozenset[str]) -> None:
    common, titles = common_part([v.label for v in views])
    head, stop = st.columns([5, 1], vertical_alignment="bottom")
    head.markdown("#### The four configurations" + (f" · {plain(common)}" if common else ""))
    active = any(v.active for v in views)
    if active:
        stop.button("Stop all four", on_click=stop_group, args=(views[0].group,), width="stretch")
    report = None if active else diagnose_group(views)
    if report is not None and report.sentence:
        st.info(plain(report.sentence))  # it may name a run by its label
    for v, title, col in zip(views, titles, st.columns(len(views))):
        with col:
            card_ui(v, title)
            if report is not None:  # side by side with the results: the failing runs are the lesson
                advice = report.advice.get(v.id, [])
                if v.status != Status.COMPLETED:  # the card says it all for a run that completed
                    outcome_ui(v, compact=True, advice=advice)
                doctor_ui(v, advice, locked)
    started = [v for v in views if v.epochs or v.loss_points]
    running = next((v for v in views if v.status == Status.RUNNING), None)
    left, right = st.columns(2)
    if running is not None:
        points = loss_points_frame(running.loss_points, max_points=LIVE_POINTS)
        title = titles[views.index(running)]
        left.altair_chart(loss_vs_images(points, title=f"Training loss now: {title}"), width="stretch")
    if any(v.epochs for v in started):
        acc = _group_frame(started, titles, views, "accuracy")
        right.altair_chart(by_epoch(acc[acc["split"] != "train"], "accuracy", "Test accuracy by epoch"),
                           width="stretch")
        if running is None:  # one panel per kind of loss: cross-entropy and squared error are not comparable
            with left:
                for chart in loss_panels(_group_frame(started, titles, views, "loss")):
                    st.altair_chart(chart, width="stretch")


def _group_frame(started: list[JobView], titles: list[str], views: list[JobView], kind: str):
    import pandas as pd
    return pd.concat([epochs_frame(v.epochs, kind, titles[views.index(v)], loss_kind=v.config.loss)
                      for v in started], ignore_index=True)


# ------------------------------------------------------------------------------ the panel
def live_ui(locked: frozenset[str] = frozenset()) -> None:
    """One polling fragment redraws status and charts together every EVERY seconds, so the header,
    progress and charts always show the same job at the same moment."""
    job_id, group = st.session_state.get(JOB_KEY), st.session_state.get(GROUP_KEY)
    if not job_id:
        return
    manager = job_manager()

    def snapshot() -> list[JobView]:
        who = access()
        views = manager.views(who, group=group) if group else [manager.view(job_id, who)]
        return [v for v in views if isinstance(v, JobView)]  # a lab job's id shows nothing here

    views = snapshot()
    active = any(v.active for v in views)
    waiting = active and all(v.status == Status.QUEUED for v in views)

    @st.fragment(run_every=(QUEUED_EVERY if waiting else EVERY) if active else None)
    def panel():
        now = snapshot()
        if not now:
            st.warning("That job is not on this server any more (it was restarted or the job was cleared), "
                       "or it is not yours.")
            attach(None)
            return
        if group:
            group_panel(now, locked)
        else:
            job_panel(now[0], locked)
        still = any(v.active for v in now)
        if (active and not still) or (waiting and not all(v.status == Status.QUEUED for v in now)):
            st.rerun()  # once: polling switches off (or speeds up), and the page shows the outcome

    panel()


def jobs_list_ui() -> None:
    who = access()
    views = [v for v in job_manager().views(who) if isinstance(v, JobView)]  # the NumPy lab's are on its page
    if not views:
        return
    title = "Jobs on this server" if who.lecturer else "Your jobs on this server"
    with st.expander(f"{title} ({sum(v.active for v in views)} active)"):
        for v in reversed(views):
            c1, c2 = st.columns([4, 1])
            acc = (f" · {v.summary['best_test_acc']:.1%}" if v.summary and v.summary["best_test_acc"] is not None
                   else "")
            by = f" · {plain(v.owner)}" if who.lecturer and v.owner else ""
            c1.markdown(f"**{plain(v.label)}**{by} · {v.status}{acc} · started "
                     f"{time.strftime('%H:%M:%S', time.localtime(v.created))}")
            c2.button("Show", key=f"show-{v.id}", on_click=attach, args=(v.id, v.group or None))
