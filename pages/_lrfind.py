"""The Train page's learning-rate finder (not a page): a button beside the learning-rate box, and a panel with
the live curve, Stop, the four suggestions, the words and "Use <rate>", which fills the box.

The finder runs as a job of the server's job service (nets.lrfind_work.LRFindWork): a worker process
like training, stoppable, seen and stopped only by its owner or the lecturer. The panel polls its view.
Two calls: `lrfind_button(...)` under the learning-rate box (it only asks), `lrfind_ui(cfg, ...)` where the
panel goes (it starts the job with the page's final configuration, and shows it).
"""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from nets.charts.lrfind import lrfind_chart
from nets.coach.lr_suggest import fmt_lr
from nets.engine.config import ConfigError, TrainConfig
from nets.engine.models import ModelError
from nets.files import CheckpointError
from nets.lrfind_work import LRFindView, LRFindWork
from nets.server.waits import queued_text
from nets.status import Status
from nets.text import plain
from pages._identity import access, identity, signed_out_message
from pages._service import data_dir, job_manager
from pages._train_state import TRAIN_CFG_KEY, load_train_config

JOB_KEY, ASK_KEY, USED_KEY, SCROLL_KEY = "lrfind_job", "lrfind_asked", "lrfind_used", "lrfind_scroll"
PANEL_KEY = "lrfind_panel"  # the panel's container: CSS class st-key-lrfind_panel
USE_HELP = ("Puts this rate in the learning-rate box: the middle of the valley, minimum and steep rules' rates, "
            "the choice that trained best in our benchmark (docs/lr-finder-and-projector.md).")
EVERY = 0.8  # seconds between redraws while it runs (100 steps: a few seconds to a minute)
LOCKED = {"lesson": "Your lecturer fixed the learning rate for this lesson.",
          "four": "The four configurations set their own learning rates: turn them off to use this one."}
# Our own constant script: bring the panel into view when a search starts from the form further down.
SCROLL = ("<script>const p = window.parent.document.querySelector('.st-key-lrfind_panel') || "
          "document.querySelector('.st-key-lrfind_panel'); if (p) p.scrollIntoView({block: 'start'});</script>")


def lrfind_button(disabled: bool = False) -> None:
    """'Find a learning rate', to go under the learning-rate box: asks lrfind_ui to start a search."""
    st.button("🔎 Find a learning rate", key="lrfind_go", type="tertiary", disabled=disabled,
              on_click=lambda: st.session_state.update({ASK_KEY: True}),
              help="A range test (fastai's lr_find): about 100 steps of this training with the rate raised from "
                   "1e-7 to 10, then the weights put back exactly. Cheaper than one epoch.")


def lrfind_ui(cfg: TrainConfig, problem: str | None = None, locked: str | None = None) -> None:
    """The finder's panel: starts a search when asked (with `cfg`, unless it has a `problem`), then shows
    the job. `locked`: "lesson" or "four" when the learning-rate box may not change (no Use button)."""
    if st.session_state.pop(ASK_KEY, False):
        start(cfg, problem)
    job_id = st.session_state.get(JOB_KEY)
    if not job_id:
        return
    with st.container(key=PANEL_KEY, border=True):
        panel(job_id, cfg, locked)
    if st.session_state.pop(SCROLL_KEY, False):
        st.html(SCROLL, unsafe_allow_javascript=True)


def start(cfg: TrainConfig, problem: str | None) -> None:
    if problem:
        st.error(f"Fix the settings first: {plain(problem)}")
        return
    owner = identity()
    if not owner:
        st.error(signed_out_message())
        return
    manager = job_manager()
    if (old := st.session_state.get(JOB_KEY)) and (v := manager.view(old, access())) is not None and v.active:
        manager.stop(old, access())  # a new search replaces the one still running: it ends between two steps,
        manager.wait(old, timeout=10)  # and no longer counts against the student's limit of active jobs
    try:
        job = manager.submit_works([LRFindWork(cfg, str(data_dir()), owner)], owner)[0]
    except (ConfigError, ModelError, CheckpointError) as e:  # refused (budget, limits): why, in words
        st.error(plain(e))
        return
    st.session_state[JOB_KEY], st.session_state[SCROLL_KEY] = job.id, True
    st.session_state.pop(USED_KEY, None)


def stop(job_id: str) -> None:
    job_manager().stop(job_id, access())  # who is asking is checked inside


def close() -> None:
    for key in (JOB_KEY, USED_KEY):
        st.session_state.pop(key, None)


def use(lr: float) -> None:
    """The rate into the Train form's box, the rest of the form as it is now."""
    current = TrainConfig.from_dict(st.session_state[TRAIN_CFG_KEY]) if TRAIN_CFG_KEY in st.session_state else None
    if current is not None:
        load_train_config(replace(current, lr=lr))
    st.session_state[USED_KEY] = lr


def panel(job_id: str, cfg: TrainConfig, locked: str | None) -> None:
    v = job_manager().view(job_id, access())
    if v is None:  # gone (a restarted server), or never this session's to see
        st.caption("This learning-rate search is no longer on the server.")
        st.button("Close", key="lrfind_close", on_click=close)
        return
    if not v.active:  # finished: drawn once, its buttons rerun the whole page (Use fills the form)
        header(v)
        body(v, cfg, locked)
        return

    @st.fragment(run_every=EVERY)
    def live():
        w = job_manager().view(job_id, access())
        if w is None:
            st.rerun()  # gone while it ran: the full run says so
        header(w)
        body(w, cfg, locked)
        if not w.active:
            st.rerun()  # it ended: one full run turns the polling off and shows Use

    live()


def header(v: LRFindView) -> None:
    """Stop (or Close) first, on the left: the chart's own toolbar opens at its top right, above the chart."""
    button, title = st.columns([1, 6], vertical_alignment="center")
    if v.active:
        button.button("Stop", key="lrfind_stop", on_click=stop, args=(v.id,), width="stretch")
    else:
        button.button("Close", key="lrfind_close", on_click=close, width="stretch")
    title.markdown(f"**🔎 Learning-rate finder** · {plain(v.config.label())} · {status_text(v)}")


def status_text(v: LRFindView) -> str:
    if v.status == Status.QUEUED:
        return "queued"
    if v.active:
        return f"step {v.steps}" if v.steps else "starting"
    if v.curve is not None:
        ended = {"end": "reached 10", "diverged": "stopped where the loss blew up", "stop": "stopped by you"}
        return f"{len(v.curve.lrs)} steps in {v.curve.seconds:.1f} s, {ended.get(v.curve.stopped, v.curve.stopped)}"
    return str(v.status)


def body(v: LRFindView, cfg: TrainConfig, locked: str | None) -> None:
    if v.status == Status.QUEUED:
        st.info(queued_text(v.position, v.wait_s))
        return
    if v.error:
        st.error(plain(v.error))
        return
    if v.active and not v.steps:
        st.progress(min(max(v.phase_fraction or 0.0, 0.0), 1.0),
                    text=plain(v.phase) if v.phase else "Loading the data and building the model…")
        return
    p = v.points
    st.altair_chart(lrfind_chart(p["lrs"], p["losses"], p["smooth"], v.suggestions, v.band, v.best),
                    width="stretch")
    if v.active or v.curve is None:
        return
    said, act = st.columns([5, 2], vertical_alignment="center")
    said.markdown(plain(v.words) or "No suggestion.")
    if v.best is None:
        return
    rate = float(fmt_lr(v.best))
    with act:
        st.button(f"Use {fmt_lr(rate)}", key="lrfind_use", type="primary", width="stretch", on_click=use,
                  args=(rate,), disabled=locked is not None, help=LOCKED.get(locked, USE_HELP))
        if st.session_state.get(USED_KEY) is not None and abs(st.session_state[USED_KEY] - cfg.lr) < 1e-12:
            st.caption(f"✓ The learning-rate box holds {fmt_lr(cfg.lr)}.")
        elif differs(v.config, cfg):
            st.caption("Found for other settings than the form's now.")


def differs(found: TrainConfig, now: TrainConfig) -> bool:
    """Whether the form now trains something else than the search measured (the rate and name aside)."""
    return replace(found, lr=now.lr, name=now.name) != now
