"""A link on a page (not a page): applied once per session, kept in the URL across page switches, its problems shown as text."""
from __future__ import annotations

from collections.abc import Callable, Mapping

import streamlit as st

from nets.link.codec import is_lesson, lesson_params, signature
from nets.text import plain


def link_ui(key: str, decode: Callable[[Mapping], object], opened: Callable[[object], dict | None]) -> dict:
    """A link (?lesson=1&…&hide=…) sets the controls once per session, so the user's own edits are not
    overwritten on every rerun: `decode` reads it, `opened` loads it into the controls (what it returns
    is kept with the link). Returns what is kept under `key` ({} without a link): "pinned", the locked
    controls, and "problems", in words."""
    params = st.query_params.to_dict()
    if is_lesson(params) and st.session_state.get(key, {}).get("sig") != signature(params):
        got = decode(params)
        st.session_state[key] = {"sig": signature(params), "params": lesson_params(params),
                                 "pinned": sorted(got.hidden), "problems": got.problems, **(opened(got) or {})}
    state = st.session_state.get(key) or {}
    for name, value in state.get("params", {}).items():  # st.navigation drops them on a page switch: a refresh needs them
        if st.query_params.get(name) != value:
            st.query_params[name] = value
    return state


def problems_ui(state: Mapping) -> None:
    """What the link got wrong. The problems quote the link's own values: shown as text, never as Markdown
    (a link could otherwise put its own links and images in the app's warning box)."""
    if state.get("problems"):
        st.warning(plain("This link had problems; defaults were used for: " + "; ".join(state["problems"]) + "."))
