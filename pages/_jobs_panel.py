"""A page's trainings as jobs of the server (not a page): submitting a group of them, and a panel that follows
them until they end (their epochs, a Stop); then the page reads their runs. The Data lab and the speed lab use it.

A tab keeps the ids of its jobs in session state under a key ("dl_pair", "sl_runs"); a refresh of the
browser tab starts a new session, and the runs are then found on Runs.
"""
from __future__ import annotations

import streamlit as st

from nets.engine.config import ConfigError
from nets.server.waits import queued_text
from nets.status import Status
from nets.text import plain
from pages._identity import access, identity, signed_out_message
from pages._service import job_manager

EVERY = 1.0  # seconds between redraws while a job trains


def submit(key: str, cfgs: list, group: str) -> bool:
    """Queue the trainings as one group and remember them under `key`; False (after saying why) when refused."""
    owner = identity()
    if not owner:
        st.error(signed_out_message())
        return False
    manager = job_manager()
    for old in st.session_state.get(key, {}).get("ids", []):  # a new experiment replaces one still training
        if (v := manager.view(old, access())) is not None and v.active:
            manager.stop(old, access())
    try:
        jobs = manager.submit_group(list(cfgs), owner, name=group)
    except ConfigError as e:  # a budget, a limit of active jobs, a setting: why, in words
        st.error(plain(e))
        return False
    st.session_state[key] = {"ids": [j.id for j in jobs], "cfgs": [c.to_dict() for c in cfgs]}
    return True


def held(key: str) -> list[str]:
    return list(st.session_state.get(key, {}).get("ids", []))


def views(key: str) -> list | None:
    """The jobs under `key` as the page may see them; None when there are none (or they are gone)."""
    ids = held(key)
    if not ids:
        return None
    found = [job_manager().view(i, access()) for i in ids]
    return None if any(v is None for v in found) else found


def follow_ui(key: str, title: str) -> list | None:
    """The jobs' views once all have ended; until then a live panel (and None)."""
    found = views(key)
    if found is None:
        if held(key):
            st.caption("These trainings are no longer on the server; their runs are on the Runs page.")
        return None
    if not any(v.active for v in found):
        return found
    ids = [v.id for v in found]

    @st.fragment(run_every=EVERY)
    def live():
        now = [job_manager().view(i, access()) for i in ids]
        if any(v is None for v in now) or not any(v.active for v in now):
            st.rerun()  # all ended (or gone): one full run of the page draws the results
        with st.container(border=True, key=f"{key}_panel"):  # narrow (beside a chart): one thing a line
            st.markdown(f"**{plain(title)}**")
            for v in now:
                st.progress(min(max(v.done, 0.0), 1.0), text=plain(f"{v.label} · {status_text(v)}"))
            st.button("Stop", key=f"{key}_stop", on_click=lambda: [job_manager().stop(i, access()) for i in ids])
    live()
    return None


def status_text(v) -> str:
    if v.status == Status.QUEUED:
        return queued_text(v.position, v.wait_s)
    if v.active:
        if v.phase:
            return v.phase
        epochs = len(v.epochs)
        return f"epoch {epochs + 1} of {v.config.epochs}" if epochs < v.config.epochs else "finishing"
    return str(v.status)
