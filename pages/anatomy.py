"""Anatomy: every layer of a model with where its parameters and output size come from, an MLP
against a CNN on the same images, and a predict-then-reveal quiz."""
import random
import re
from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from nets.engine.catalog import SHAPES, input_shape, num_classes
from nets.engine.models import MODELS, ModelError
from nets.engine.options import OPTIONS
from nets.inspect import anatomy
from nets.parse import ParseError
from nets.text import plain
from pages._common import ensure_app_entry
from pages._train_state import BUILDER_KEY
from pages._widgets import quiz

ensure_app_entry()

LESSON = Path(__file__).resolve().parent.parent / "assets" / "anatomy.md"
FORMULA_NOTE = re.compile(r"^(.*?\S) \((.+)\)$")  # '2·64 = 128 (γ and β per channel; …)'
MARKS = "¹²³⁴⁵⁶⁷⁸⁹*"
NARROW = set(" ·.,:;()[]/|-1ilt'")
PAD_PX, MAX_PX = 22, 480   # the table's 14 px font: about 7.5 px a letter or digit, 4 px a narrow one


def COUNT(**kwargs):
    return st.column_config.NumberColumn(format="localized", **kwargs)


def model_ui() -> tuple[str, str, dict]:
    """The dataset, the architecture and its options, as the widgets give them."""
    left, right = st.columns(2)
    dataset = left.selectbox("Dataset", list(SHAPES), key="anatomy_dataset",  # the datasets with a fixed shape
                             format_func=lambda d: f"{d} ({'×'.join(map(str, SHAPES[d]))})",
                             help="Sets the input shape and the number of classes.")
    name = right.selectbox("Architecture", list(MODELS), index=list(MODELS).index("lenet"),
                           key="anatomy_model")
    raw = {}
    defaults = anatomy.widget_defaults(name)
    for col, (opt, default) in zip(st.columns(len(defaults)), defaults.items()):
        key, (kind, kwargs) = f"anatomy_{name}_{opt}", OPTIONS[opt].widget()
        if key not in st.session_state:  # a custom network starts as the one on the Build page
            st.session_state[key] = OPTIONS[opt].shown(st.session_state[BUILDER_KEY]) \
                if opt == "layers" and st.session_state.get(BUILDER_KEY) else default
        raw[opt] = getattr(col, kind)(OPTIONS[opt].label, key=key, **kwargs)
    return dataset, name, raw


# Cached by the choices that produce the table, never by a model object.
@st.cache_data(show_spinner="Tracing the model…", max_entries=64)
def layer_rows(name: str, shape: tuple, classes: int, options: tuple) -> list[dict]:
    return anatomy.table_for(name, shape, dict(options), num_classes=classes)


@st.cache_data(show_spinner=False, max_entries=64)
def comparison(name: str, shape: tuple, classes: int, options: tuple) -> anatomy.Comparison:
    return anatomy.comparison_for(name, shape, dict(options), num_classes=classes)


def _px(value) -> float:
    """About how wide a cell's text is drawn, in pixels."""
    text = f"{value:,}" if isinstance(value, int) else str(value)
    return sum(4.0 if ch in NARROW else 7.5 for ch in text)


def shown_table(rows: list[dict]) -> tuple[pd.DataFrame, list[str], dict]:
    """The layer table as the page draws it, so no cell is cut at 1366×768: a formula's trailing note
    (why BatchNorm has 2·C parameters, what groups do) becomes a footnote mark with the note said once
    under the table; 'trainable' only when some layer is frozen; each column as wide as its longest
    text (the table scrolls sideways, the layer column pinned, rather than cut a formula)."""
    notes, shown = [], []
    for row in rows:
        row = dict(row)
        if m := FORMULA_NOTE.match(row["formula"]):
            if m[2] not in notes:
                notes.append(m[2])
            row["formula"] = f"{m[1]} {MARKS[min(notes.index(m[2]), len(MARKS) - 1)]}"
        shown.append(row)
    df = pd.DataFrame(shown)
    if all(r["params"] == r["trainable"] for r in rows):
        df = df.drop(columns=["trainable"])  # the metric above says it: every parameter trains
    config = {c: (COUNT if c in ("params", "trainable", "mult-adds") else st.column_config.Column)(
        width=min(MAX_PX, round(PAD_PX + max([_px(c), *(_px(v) for v in df[c])]))),
        pinned=True if c == "layer" else None) for c in df.columns}
    return df, [f"{MARKS[min(i, len(MARKS) - 1)]} {n}" for i, n in enumerate(notes)], config


def draw_table(rows: list[dict]):
    totals = anatomy.totals(rows)
    a, b, c = st.columns(3)
    a.metric("Total parameters", f"{totals['params']:,}")
    b.metric("Trainable", f"{totals['trainable']:,}")
    c.metric("Multiply-adds per image", f"{totals['mult-adds']:,}")
    df, notes, config = shown_table(rows)
    st.dataframe(df, hide_index=True, width="stretch", column_config=config)
    for note in notes:
        st.caption(note)


def draw_comparison(comp: anatomy.Comparison):
    st.subheader("MLP against CNN, same images")
    for col, facts in zip(st.columns(2), (comp.mlp, comp.cnn)):
        with col:
            st.markdown(f"**{facts.label}**")
            st.metric("Parameters", f"{facts.total_params:,}")
            st.metric("Multiply-adds per image", f"{facts.mult_adds:,}")
            st.caption(f"Largest layer: {facts.largest_layer}")
    st.info(f"{comp.why} {comp.compute}")


def draw_quiz(rows: list[dict]):
    st.subheader("Predict, then reveal")
    # Only the seed is kept: the question follows from it and the table, so changing the model
    # gives a question about the new model, and old feedback is shown only for its own question.
    st.session_state.setdefault("anatomy_seed", random.randrange(1 << 30))
    question = anatomy.make_question(rows, random.Random(st.session_state["anatomy_seed"]))
    st.session_state["anatomy_question"] = question
    st.markdown(question.prompt)
    state = quiz("anatomy", question.prompt, partial(anatomy.check_answer, question), "e.g. 260 or 10×24×24",
                 next_question=True)
    if state.revealed:
        st.info(f"Answer: **{question.answer_text}**. {question.formula}")


st.title("🧬 Anatomy of a network")
with st.expander("How to read this page", expanded=False):
    st.markdown(LESSON.read_text())

dataset, name, raw = model_ui()
shape, classes = input_shape(dataset), num_classes(dataset)
try:
    options = tuple(sorted(anatomy.parse_options(name, raw).items()))
    rows = layer_rows(name, shape, classes, options)
    comp = comparison(name, shape, classes, options)
except (ModelError, ParseError) as e:
    st.error(plain(e))  # it may quote what was typed
    st.stop()

draw_table(rows)
draw_comparison(comp)
draw_quiz(rows)
