"""Anatomy: every layer of a model with where its parameters and output size come from, an MLP
against a CNN on the same images, and a predict-then-reveal quiz."""
import random
from pathlib import Path

import pandas as pd
import streamlit as st

from nets.engine.models import ACTIVATIONS, MODELS, ModelError
from nets.inspect import anatomy
from pages._common import ensure_app_entry

ensure_app_entry()

LESSON = Path(__file__).resolve().parent.parent / "assets" / "anatomy.md"
LABELS = {"hidden": "Hidden sizes", "channels": "Conv channels", "fc": "Fully connected sizes",
          "activation": "Activation", "dropout": "Dropout", "batch_norm": "Batch norm",
          "small_stem": "Stem"}
HELP = {"hidden": "Comma-separated, e.g. 256,128,64; empty for none.",
        "channels": "Two counts, e.g. 32,64.", "fc": "Comma-separated, e.g. 256,128; empty for none."}
COUNT = st.column_config.NumberColumn(format="localized")


def model_ui() -> tuple[str, str, dict]:
    """The dataset, the architecture and its options, as the widgets give them."""
    left, right = st.columns(2)
    dataset = left.selectbox("Dataset", list(anatomy.DATASET_SHAPES), key="anatomy_dataset",
                             help="Sets the input shape: MNIST-like sets are 1×28×28, CIFAR-10 is 3×32×32.")
    name = right.selectbox("Architecture", list(MODELS), index=list(MODELS).index("lenet"),
                           key="anatomy_model")
    raw = {}
    defaults = anatomy.widget_defaults(name)
    for col, (opt, default) in zip(st.columns(len(defaults)), defaults.items()):
        key, label = f"anatomy_{name}_{opt}", LABELS.get(opt, opt)
        if opt in anatomy.SIZE_OPTIONS:
            raw[opt] = col.text_input(label, default, key=key, help=HELP.get(opt))
        elif opt == "activation":
            raw[opt] = col.selectbox(label, list(ACTIVATIONS), list(ACTIVATIONS).index(default), key=key)
        elif opt == "dropout":
            raw[opt] = col.slider(label, 0.0, 0.9, float(default), 0.05, key=key)
        elif opt == "batch_norm":
            raw[opt] = col.checkbox(label, bool(default), key=key)
        elif opt == "small_stem":
            raw[opt] = col.selectbox(label, list(anatomy.STEM_CHOICES), key=key,
                                     help="auto: the small stem for images up to 64 px.")
    return dataset, name, raw


# Cached by the choices that produce the table, never by a model object.
@st.cache_data(show_spinner="Tracing the model…", max_entries=64)
def layer_rows(name: str, shape: tuple, options: tuple) -> list[dict]:
    return anatomy.table_for(name, shape, dict(options))


@st.cache_data(show_spinner=False, max_entries=64)
def comparison(name: str, shape: tuple, options: tuple) -> anatomy.Comparison:
    return anatomy.comparison_for(name, shape, dict(options))


def draw_table(rows: list[dict]):
    totals = anatomy.totals(rows)
    a, b, c = st.columns(3)
    a.metric("Total parameters", f"{totals['params']:,}")
    b.metric("Trainable", f"{totals['trainable']:,}")
    c.metric("Multiply-adds per image", f"{totals['mult-adds']:,}")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"params": COUNT, "trainable": COUNT, "mult-adds": COUNT})


def draw_comparison(comp: anatomy.Comparison):
    st.subheader("MLP against CNN, same images")
    for col, facts in zip(st.columns(2), (comp.mlp, comp.cnn)):
        with col:
            st.markdown(f"**{facts.label}**")
            st.metric("Parameters", f"{facts.total_params:,}")
            st.metric("Multiply-adds per image", f"{facts.mult_adds:,}")
            st.caption(f"Largest layer: {facts.largest_layer}")
    st.info(f"{comp.why} {comp.compute}")


def _check():
    question = st.session_state["anatomy_question"]
    ok, text = anatomy.check_answer(question, st.session_state.get("anatomy_answer", ""))
    st.session_state["anatomy_feedback"] = (question.prompt, ok, text)


def _reveal():
    st.session_state["anatomy_revealed"] = st.session_state["anatomy_question"].prompt


def _next():
    st.session_state["anatomy_seed"] += 1
    st.session_state["anatomy_answer"] = ""
    st.session_state["anatomy_feedback"] = st.session_state["anatomy_revealed"] = None


def draw_quiz(rows: list[dict]):
    st.subheader("Predict, then reveal")
    # Only the seed is kept: the question follows from it and the table, so changing the model
    # gives a question about the new model, and old feedback is shown only for its own question.
    st.session_state.setdefault("anatomy_seed", random.randrange(1 << 30))
    question = anatomy.make_question(rows, random.Random(st.session_state["anatomy_seed"]))
    st.session_state["anatomy_question"] = question
    st.markdown(question.prompt)
    st.text_input("Your answer", key="anatomy_answer", placeholder="e.g. 260 or 10×24×24")
    a, b, c = st.columns(3)
    a.button("Check", key="anatomy_check", on_click=_check, width="stretch")
    b.button("Reveal", key="anatomy_reveal", on_click=_reveal, width="stretch")
    c.button("Next question", key="anatomy_next", on_click=_next, width="stretch")
    prompt, ok, text = st.session_state.get("anatomy_feedback") or (None, False, "")
    if prompt == question.prompt:
        (st.success if ok else st.warning)(text)
    if st.session_state.get("anatomy_revealed") == question.prompt:
        st.info(f"Answer: **{question.answer_text}**. {question.formula}")


st.title("🧬 Anatomy of a network")
with st.expander("How to read this page", expanded=False):
    st.markdown(LESSON.read_text())

dataset, name, raw = model_ui()
shape = anatomy.DATASET_SHAPES[dataset]
try:
    options = tuple(sorted(anatomy.parse_options(name, raw).items()))
    rows = layer_rows(name, shape, options)
    comp = comparison(name, shape, options)
except ModelError as e:
    st.error(str(e))
    st.stop()

draw_table(rows)
draw_comparison(comp)
draw_quiz(rows)
