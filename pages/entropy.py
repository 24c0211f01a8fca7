"""Cross-entropy and KL: H(p), H(p, q), KL(p‖q) with every term, the identity that ties them,
the zero-probability case, and the binary one-hot case where the loss is the KL divergence."""
from functools import partial
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from nets.calculators import entropy as info
from nets.text import plain
from pages._common import ensure_app_entry
from pages._widgets import quiz

ensure_app_entry()

LESSON = Path(__file__).resolve().parent.parent / "assets" / "entropy.md"
KEEP = "session"  # widget values survive a visit to another page
CURVES = list(info.CURVES)  # the chart's colour, width and dash scales, in this order


def distributions_ui() -> tuple[str, list[float] | str, list[float] | str]:
    """The unit, and p and q as the student set them: slider weights or typed text, not yet normalised."""
    a, b, c = st.columns([2, 2, 1])
    mode = a.radio("Set p and q with", ["Sliders", "Typed values"], horizontal=True, key="ent_mode",
                   persist_state=KEEP)
    unit = c.radio("Unit", list(info.UNITS), horizontal=True, key="ent_unit", persist_state=KEEP,
                   help="nats: natural log; bits: log base 2.")
    if mode == "Typed values":
        left, right = st.columns(2)
        p_text, q_text = info.default_texts()
        p = left.text_input("p (true distribution)", p_text, key="ent_p_text", persist_state=KEEP,
                            help="Comma-separated; any non-negative values, normalised for you. 1/3 and 20% work.")
        q = right.text_input("q (model's distribution)", q_text, key="ent_q_text", persist_state=KEEP)
        return unit, p, q
    k = b.slider("Classes k", 2, 6, 3, key="ent_k", persist_state=KEEP)
    p0, q0 = info.default_weights(k)
    values = {}
    for col, name, start in zip(st.columns(2), "pq", (p0, q0)):
        col.markdown(f"**{name}** ({'true' if name == 'p' else 'model'}): weights, normalised below")
        values[name] = [col.slider(f"{name}_{i + 1}", 0.0, 1.0, start[i], 0.01, key=f"ent_{name}{k}_{i}",
                                   persist_state=KEEP) for i in range(k)]
    return unit, values["p"], values["q"]


def quiz_ui() -> tuple[bool, str]:
    a, b = st.columns([1, 2])
    on = a.toggle("Quiz me first", key="ent_quiz", persist_state=KEEP,
                  help="Hide the results until you have predicted one of them.")
    quantity = b.selectbox("Predict", list(info.QUANTITIES), 1, key="ent_quiz_quantity",
                           persist_state=KEEP) if on else ""
    return on, quantity


def draw_quiz(ident: info.Identity, quantity: str, case: tuple) -> bool:
    """The prediction box; returns whether the working may be shown for this case."""
    state = quiz("ent", (case, quantity), partial(info.check_prediction, ident, quantity), "e.g. 0.887",
                 label=f"Your {quantity} in {ident.h.unit}", reveals=case, reveal_on_check=True)
    return state.revealed


def draw_distributions(p, q):
    st.latex(info.pair_latex(p, q))
    bars = alt.Chart(info.bar_data(p, q)).mark_bar().encode(
        x=alt.X("class:N", title="class i"), xOffset="distribution:N",
        y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1])), color="distribution:N")
    st.altair_chart(bars.properties(height=220), width="stretch")


def draw_results(ident: info.Identity, p, q):
    cols = st.columns(3)
    for col, (name, r) in zip(cols, ident.results().items()):
        col.metric(f"{name} in {r.unit}", info.value_text(r.value))
    for r in ident.results().values():
        st.latex(r.latex)
    if ident.h.note:
        st.caption(ident.h.note)
    st.dataframe(info.table(p, q, ident.h.unit), hide_index=True, width="stretch")
    st.markdown("**The identity, with these numbers**")
    st.latex(ident.latex)
    if ident.holds and not ident.note:
        st.success(f"It holds: {ident.sum_text} {ident.h.unit} (to 4 decimals).")
    if ident.note:
        st.warning(ident.note)


def binary_ui() -> tuple[float, float]:
    a, b = st.columns(2)
    q_true = a.slider("q(true class): the model's probability for the right answer", 0.0, 1.0, 0.8, 0.01,
                      key="ent_bin_q", persist_state=KEEP)
    p_true = b.slider("p(true class): 1 is a one-hot label", 0.5, 1.0, 1.0, 0.01, key="ent_bin_p",
                      persist_state=KEEP, help="Below 1 is a soft label, as with label smoothing.")
    return q_true, p_true


def draw_binary(ident: info.Identity, curves, q_true: float, unit: str):
    for r in ident.results().values():
        st.latex(r.latex)
    if ident.note:
        st.warning(ident.note)
    elif ident.h.value == 0:
        st.info(f"p is one-hot, so H(p) = 0 and the cross-entropy loss −log q = {info.value_text(ident.ce.value)} "
                f"is exactly KL(p‖q).")
    else:
        st.info(f"H(p) = {info.value_text(ident.h.value)} {unit} whatever q is: the cross-entropy curve is the KL "
                "curve lifted by that constant, so both are lowest at the same q (q = p).")
    lines = alt.Chart(curves).mark_line().encode(
        x=alt.X("q_true:Q", title="q(true class)"), y=alt.Y(f"{unit}:Q", title=unit),
        color=alt.Color("quantity:N", scale=alt.Scale(domain=CURVES, range=["#1f77b4", "#d62728", "#7f7f7f"])),
        # one-hot p puts KL exactly on top of H(p, q): a wide solid line under a thin dashed one
        strokeWidth=alt.StrokeWidth("quantity:N", scale=alt.Scale(domain=CURVES, range=[6, 2, 2])),
        strokeDash=alt.StrokeDash("quantity:N", scale=alt.Scale(domain=CURVES, range=[[1, 0], [6, 3], [2, 2]])))
    rule = alt.Chart(pd.DataFrame({"q_true": [q_true]})).mark_rule(color="gray").encode(x="q_true:Q")
    st.altair_chart((lines + rule).properties(height=280), width="stretch")


st.title("📐 Cross-entropy and KL divergence")
with st.expander("How to read this page", expanded=False):
    st.markdown(LESSON.read_text())

st.subheader("Two distributions")
unit, p_raw, q_raw = distributions_ui()
try:
    p, q = info.normalise(p_raw, "p"), info.normalise(q_raw, "q")
    ident = info.identity_check(p, q, unit)
except info.InfoError as e:
    st.error(plain(e))  # it may quote what was typed
else:
    draw_distributions(p, q)
    quizzing, quantity = quiz_ui()
    if not quizzing or draw_quiz(ident, quantity, (p, q, unit)):
        draw_results(ident, p, q)

st.subheader("Two classes, one-hot label: the loss is the KL divergence")
q_true, p_true = binary_ui()
draw_binary(info.binary(q_true, p_true, unit), info.binary_curves(p_true, unit), q_true, unit)
