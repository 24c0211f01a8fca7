"""The Build page's exercises: pick one, set it up, predict, reveal, and the task's live check."""
from __future__ import annotations

import streamlit as st

from nets.engine import netshape
from nets.link import exercises
from nets.text import plain
from pages._build_ui import YOURS, set_spec

EXERCISE_KEY, REVEALED_KEY = "builder_exercise", "builder_revealed"  # {"key", "case"}; the reveals asked for


def set_up(key: str, case: str = "") -> None:
    """An exercise's starting network on its dataset, no prediction yet (a callback)."""
    ex = exercises.BY_KEY[key]
    st.session_state[EXERCISE_KEY] = {"key": key, "case": case}
    st.session_state.pop("builder_predict", None)
    st.session_state.setdefault(REVEALED_KEY, set()).discard((key, case))
    st.session_state["builder_dataset_v"] = ex.dataset
    st.session_state.pop("builder_dataset", None)
    set_spec(ex.starting_layers(case), select=0, start=ex.start or YOURS)


def active_exercise() -> tuple[exercises.Exercise | None, str]:
    got = st.session_state.get(EXERCISE_KEY) or {}
    return exercises.BY_KEY.get(got.get("key")), got.get("case", "")


def exercise_ui(find_runs) -> None:
    """Inside a popover beside the title: pick, set up, predict, reveal. `find_runs()` gives this user's
    custom runs on mnist, newest first (exercise 2's verdict)."""
    pick, case_col, go = st.columns([2, 2, 1.2], vertical_alignment="bottom")
    key = pick.selectbox("Exercise", list(exercises.BY_KEY), key="builder_ex_pick",
                         format_func=lambda k: exercises.BY_KEY[k].title)
    ex = exercises.BY_KEY[key]
    case = ""
    if ex.cases:
        case = case_col.selectbox("Network", [c.key for c in ex.cases], key="builder_ex_case",
                                  format_func=lambda c: ex.case(c).title)
    go.button("Set it up", key="builder_ex_go", on_click=set_up, args=(key, case), width="stretch")
    active, case = active_exercise()
    if active is None:
        st.caption("Set an exercise up: it loads its network, asks for a prediction, then reveals the answer "
                   "and sets a task that this page checks as you edit.")
        return
    st.markdown(f"**{active.title}.** {active.question}")
    st.radio("Your prediction", list(active.choices), format_func=active.choices.get, index=None,
             key="builder_predict")
    revealed = st.session_state.setdefault(REVEALED_KEY, set())
    if (active.key, case) not in revealed:
        st.button("Reveal", key="builder_reveal", on_click=lambda: revealed.add((active.key, case)))
        return
    right, said = exercises.verdict(active, st.session_state.get("builder_predict"), case)
    (st.success if right else st.info)(said)
    if active.key == "smaller":
        st.markdown(exercises.reveal_smaller())
    elif active.key == "not-learning":
        st.markdown("**What this page says about the network:**")
        for text in exercises.reveal_warnings(active, case):
            st.caption(f"⚠ {plain(text)}")
    elif active.key == "small-98":
        got = exercises.reveal_small(find_runs())
        st.caption(plain(got.text) if got else "No finished custom run of yours on mnist yet: the verdict comes "
                                                "from your newest one.")
    st.markdown(active.why(case))
    st.markdown(f"**Your task:** {active.task}")


def exercise_line(layers, analysis: netshape.Analysis) -> None:
    """One line under the summary while an exercise is set up: its live check."""
    active, case = active_exercise()
    if active is None or (active.key, case) not in st.session_state.get(REVEALED_KEY, set()):
        return
    got = exercises.check(active, layers, analysis)
    st.caption(f"🔮 **{active.title}**: {'✅ ' if got.done else ''}{got.text}")
