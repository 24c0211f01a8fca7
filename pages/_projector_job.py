"""The Feature projector's computing panel (not a page): what is not stored yet is computed by a job of the
server's job service (nets.projector_work), never in the web server, and this panel shows it: its phase,
a Stop, then the page draws what it stored.

One job per part ("test": every test image; "epochs": the per-epoch subset) per session: a new request
(another run, method or parameters) stops the one still running. A request whose job failed or was
stopped is not sent again by itself ("Try again" does), so a broken run cannot start a job on every rerun.
"""
from __future__ import annotations

import streamlit as st

from nets.engine.config import ConfigError
from nets.inspect.projection import TITLES
from nets.projector_work import ProjectorWork, needed
from nets.runs import Run
from nets.server.waits import queued_text
from nets.status import Status
from nets.text import plain
from pages._identity import access, identity, signed_out_message
from pages._service import data_dir, job_manager

EVERY = 1.0  # seconds between redraws while a job runs
WHAT = {"test": "the features of every test image, their neighbours and the projection",
        "epochs": "each epoch's layout"}


def computed_ui(run: Run, part: str, method: str, params: tuple) -> bool:
    """True when what the part draws is stored; else asks for (or shows) the job that computes it."""
    if not needed(run, part, method, dict(params)):
        return True
    key, target = f"proj_job_{part}", (run.id, run.weights_file, part, method, params)
    manager, who = job_manager(), access()
    held = st.session_state.get(key)
    v = manager.view(held["id"], who) if held else None
    if v is None or held["target"] != target:
        if v is not None and v.active:
            manager.stop(v.id, who)  # the earlier request (another run or setting) is no longer wanted
        v = _submit(run, part, method, params, key, target)
        if v is None:
            return False
    if v.status == Status.COMPLETED and not needed(run, part, method, dict(params)):
        st.rerun()  # it finished between the two looks: draw what it stored
    with st.container(border=True, key=f"proj_panel_{part}"):
        if v.active:
            _live(v.id, part)
        else:
            _ended(v, key)
    return False


def _submit(run: Run, part: str, method: str, params: tuple, key: str, target: tuple):
    if not identity():
        st.info(signed_out_message().replace("to train", "to compute features"))
        return None
    work = ProjectorWork.asked_by(access(), run.path.parent, run.id, part, method, dict(params), str(data_dir()))
    try:
        job = job_manager().submit_works([work], identity())[0]
    except ConfigError as e:  # refused at the door (a limit, a setting): why, in words
        st.error(plain(e))
        return None
    st.session_state[key] = {"id": job.id, "target": target}
    return job_manager().view(job.id, access())


def _live(job_id: str, part: str) -> None:
    @st.fragment(run_every=EVERY)
    def live():
        v = job_manager().view(job_id, access())
        if v is None or not v.active:
            st.rerun()  # it ended (or is gone): one full run draws what it stored, or says why not
        _status(v, part)
    live()


def _status(v, part: str) -> None:
    text, stop = st.columns([6, 1], vertical_alignment="center")
    with text:
        if v.status == Status.QUEUED:
            st.info(queued_text(v.position, v.wait_s))
        else:
            said = plain(v.phase) + "…" if v.phase else f"Computing {WHAT[part]}…"
            if v.phase_fraction is None:  # a step that cannot say how far it is: no bar stuck at 0
                st.markdown(f"⏳ {said}")
            else:
                st.progress(min(max(v.phase_fraction, 0.0), 1.0), text=said)
            once = "per run" if part == "epochs" else "per weights file"
            st.caption(f"Computed once {once} with {TITLES.get(v.method, v.method)} and these settings, then "
                       "stored with the run; a job of the server, so the page stays quick for everyone.")
    stop.button("Stop", key=f"proj_stop_{part}", on_click=lambda: job_manager().stop(v.id, access()),
                width="stretch")


def _ended(v, key: str) -> None:
    if v.status == Status.COMPLETED:
        st.error("The job finished but its result could not be stored (is the disk full?).")
    elif v.status == Status.STOPPED:
        st.info("Stopped. Nothing was drawn for these settings.")
    else:
        st.error(plain(v.error or f"The job ended: {v.status}."))
    st.button("Try again", key=f"{key}_again", on_click=lambda: st.session_state.pop(key, None))
