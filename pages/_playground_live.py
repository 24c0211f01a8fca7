"""The Playground's live panel: the browser component (nets/playground/web) mounted, and what it hands back applied."""
from __future__ import annotations

import uuid

import streamlit as st

from nets.playground.live import SYNC_S, apply_sync, panel_data, script

KEY = "pg_live"
CSS = """
.pg { display: grid; grid-template-columns: 1.25fr 1fr; gap: 1rem; align-items: start; font-family: inherit; }
.pg canvas { width: 100%; height: auto; display: block; }
.pg-numbers { display: grid; grid-template-columns: 0.8fr 1fr 1fr; margin-bottom: 0.4rem; }
.pg-numbers span { display: block; font-size: 0.875rem; color: var(--st-text-color, #31333f); opacity: 0.8; }
.pg-numbers b { font-size: 1.45rem; font-weight: 400; font-variant-numeric: tabular-nums; }
.pg-heat { border: 1px solid #ddd; }
"""
_panel = st.components.v2.component("nnlab.playground_live", js=script(), css=CSS)


def _synced() -> None:
    """The browser handed its network back (every few seconds while playing, at a pause, and when it
    stopped by itself at a scenario's last epoch: then Play is off, and the page says so at once)."""
    state, value = st.session_state.get("pg_state"), st.session_state.get(KEY)
    if state is not None and value is not None:
        sync = value.get("sync")
        if apply_sync(state, sync) and sync.get("stopped") and st.session_state.get("pg_playing"):
            st.session_state.pg_playing = False
            st.session_state.pg_stopped = True


def live_panel(state, playing: bool, discretize: bool, show_test: bool, planes: bool, stop_at: int | None) -> None:
    """Mount the panel (the network, the numbers, the heat map and the curve, trained and drawn in the browser)."""
    if st.session_state.pop("pg_stopped", False):
        st.rerun()  # the whole page: its Play button shows Play again
    panel = st.session_state.setdefault("pg_panel", uuid.uuid4().hex)  # this tab's, across reruns
    _panel(key=KEY, data=panel_data(state, panel, playing, discretize, show_test, planes, SYNC_S, stop_at),
           on_sync_change=_synced)
