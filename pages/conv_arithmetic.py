"""Convolution arithmetic: one layer's output size, parameters and multiply-adds step by step, a chain
of layers, the coursework's 1×1-bottleneck example, and a predict-then-reveal quiz."""
import random
from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from nets.calculators import conv_arithmetic as cc
from nets.calculators import conv_chain as chains
from nets.calculators import conv_quiz as cq
from nets.text import plain
from pages._common import ensure_app_entry
from pages._widgets import quiz

ensure_app_entry()

LESSON = Path(__file__).resolve().parent.parent / "assets" / "conv_arithmetic.md"
KEEP = "session"  # widget values survive a visit to another page
COUNT = st.column_config.NumberColumn(format="localized")


def layer_ui() -> dict:
    """One layer's numbers; the defaults are the worked example's 5×5 convolution."""
    labels = {"W": "Input width W", "K": "Kernel K", "P": "Padding P", "S": "Stride S",
              "C_in": "Input channels C_in", "C_out": "Filters C_out"}
    same = st.checkbox("'Same' padding: P = (K − 1)/2", key="conv_same", persist_state=KEEP)
    choice = {name: col.number_input(label, min_value=cc.LOWEST[name], max_value=100_000,
                                     value=cc.WORKED_LAYER[name], step=1, key=f"conv_{name}", persist_state=KEEP,
                                     disabled=same and name == "P")
              for col, (name, label) in zip(st.columns(len(labels)), labels.items())}
    choice["bias"] = st.checkbox("Bias (one per filter)", True, key="conv_bias", persist_state=KEEP)
    return {**choice, "same": same}


def draw_single(calc: cc.Single):
    if calc.size_latex:
        st.latex(calc.size_latex)
    if calc.error:
        st.error(plain(calc.error))  # it may quote what was typed
        return
    step = calc.step
    a, b, c = st.columns(3)
    a.metric("Output H×W×C", cc.fmt_shape(step.shape_out))
    b.metric("Parameters", f"{step.params:,}")
    c.metric("Multiply-adds per image", f"{step.mult_adds:,}", help=f"about {cc.human(step.mult_adds)}")
    for tex in step.latex[1:]:
        st.latex(tex)


def chain_ui() -> tuple[tuple, list[dict]]:
    """The input shape and the layer rows as the editor gives them (still to be checked)."""
    cols = st.columns(3)
    labels = ("Input height H", "Input width W", "Input channels C")
    shape = tuple(col.number_input(label, 1, 100_000, value, key=f"conv_chain_{name}", persist_state=KEEP)
                  for col, label, name, value in zip(cols, labels, "HWC", chains.LENET_INPUT))
    rows = st.data_editor(
        pd.DataFrame(chains.LENET_ROWS), key="conv_chain", num_rows="dynamic", hide_index=True, width="stretch",
        column_config={
            "type": st.column_config.SelectboxColumn("type", options=list(cc.LAYER_KINDS), required=True,
                                                  default="conv"),
            "K": st.column_config.NumberColumn("K", min_value=1, step=1, help="Kernel size"),
            "S": st.column_config.NumberColumn("S", min_value=1, step=1, default=1, help="Stride"),
            "P": st.column_config.TextColumn("P", default="0", help="Padding: a number, or 'same' for a convolution"),
            "C_out": st.column_config.NumberColumn("C_out", min_value=1, step=1,
                                                   help="Filters (convolutions only; pooling keeps C)")})
    return shape, rows.to_dict("records")


def draw_chain(chain: chains.Chain):
    if chain.steps:
        st.dataframe(chains.chain_table(chain), hide_index=True, width="stretch",
                     column_config={"params": COUNT, "mult-adds": COUNT})
        st.caption(chain.total_text)
        with st.expander("Every computation"):
            for i, step in enumerate(chain.steps, 1):
                st.markdown(f"**{i}: {step.label}** on {cc.fmt_shape(step.shape_in)}")
                for tex in step.latex:
                    st.latex(tex)
    if chain.error:
        st.error(plain(chain.error))
    elif not chain.steps:
        st.info("Add a layer to the table to see its shape.")


def draw_inception(ex: chains.Inception):
    st.markdown(f"Input **{cc.fmt_shape(ex.input_shape)}**, output {cc.fmt_shape(ex.output_shape)} either way.")
    for col, title, chain in zip(st.columns(2), ex.titles, (ex.direct, ex.bottleneck)):
        with col:
            st.markdown(f"**{title}**")
            for step in chain.steps:
                st.caption(f"{step.label}: {cc.fmt_shape(step.shape_in)} → {cc.fmt_shape(step.shape_out)}")
                for tex in step.short_latex:
                    st.latex(tex)
            st.metric("Parameters", f"{chain.params:,}")
            st.metric("Multiply-adds", f"{chain.mult_adds:,}", help=f"about {cc.human(chain.mult_adds)}")
    st.success(ex.summary)


def draw_quiz():
    # Only the seed is kept; feedback and reveals name their question, so a new one starts clean.
    st.session_state.setdefault("conv_seed", random.randrange(1 << 30))
    q = st.session_state["conv_question"] = cq.make_question(random.Random(st.session_state["conv_seed"]))
    st.markdown(q.prompt)
    state = quiz("conv", q, partial(cq.check_answer, q), "e.g. 28, 153,632 or 1.2e8", next_question=True)
    if state.checked or state.revealed:
        st.info(f"Answer: **{q.answer:,}**")
        st.latex(q.latex)


st.title("🧮 Convolution arithmetic")
with st.expander("How to read this page", expanded=False):
    st.markdown(LESSON.read_text())

st.subheader("One layer")
draw_single(cc.single_layer(**layer_ui()))

st.subheader("A chain of layers")
st.caption("Edit the rows, add or delete layers; each shape feeds the next. Starts as LeNet-5's feature extractor.")
draw_chain(chains.chain_from_rows(*chain_ui()))

st.subheader("Worked example: why Inception puts a 1×1 convolution first")
draw_inception(chains.inception_example())

st.subheader("Predict, then reveal")
draw_quiz()
