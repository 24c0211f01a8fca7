"""Streamlit drawing helpers shared by the pages (not a page): square-pixel pictures, picture grids, the top-k
table, tables with a dash for what is missing, the predict-then-reveal quiz."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Hashable

import numpy as np
import pandas as pd
import streamlit as st

from nets.inspect.pictures import enlarge_to, square
from nets.inspect.prediction import Prediction, top_k_rows
from nets.text import plain

PICTURE_PX = 224   # a model's input is drawn about this wide
GRID_PX = 120      # each picture of a grid is drawn this wide: one size, so they line up


def picture(image: np.ndarray, caption: str | None = None, px: int = PICTURE_PX, *, squared: bool = False,
            width: int | str | None = None) -> None:
    """One H×W(×3) uint8 image, enlarged by whole pixels to about px (the browser would blur a small
    one) and drawn px wide, or `width` ("stretch": the column's); squared: padded to a square first.
    The caption is shown as text (it may hold a file name or a class name)."""
    st.image(enlarge_to(square(image) if squared else image, px), caption=None if caption is None else plain(caption),
             width=width or px)


def image_grid(items: list[tuple[np.ndarray, str]], px: int = GRID_PX) -> None:
    """(H×W(×3) image, caption) pairs side by side, each enlarged by whole pixels to about px and drawn
    px wide; "None." when there are none. Captions are shown as text (they hold class names)."""
    if not items:
        st.caption("None.")
        return
    st.image([enlarge_to(im, px) for im, _ in items], caption=[plain(c) for _, c in items], width=px)


def prediction_metric(pred: Prediction, label: str = "Prediction") -> None:
    st.metric(plain(label), plain(pred.label), f"{pred.probability:.1%} probability", delta_color="off")


def top_k_table(preds: list[Prediction]) -> None:
    """The prediction as a metric, then the top k classes with probability bars."""
    prediction_metric(preds[0])
    st.dataframe(top_k_rows(preds), hide_index=True, width="stretch",
                 column_config={"probability": st.column_config.ProgressColumn(min_value=0, max_value=1,
                                                                               format="percent")})


def dash_table(rows: list[dict]) -> pd.DataFrame:
    """Rows for st.dataframe with a dash where there is nothing to show (not 'None'), and whole numbers
    kept whole: a column of ids with a missing value reads 29756, not 29756.0."""
    df = pd.DataFrame(rows)
    for c in df.columns:
        if pd.api.types.is_float_dtype(df[c]) and df[c].dropna().map(float.is_integer).all():
            df[c] = df[c].astype("Int64")
    return df.astype(object).where(df.notna(), "—")


@dataclass(frozen=True)
class QuizState:
    """Where the student is with the question shown: the page decides what to reveal from it."""
    checked: bool    # an answer to this question was checked (its feedback is on the page)
    right: bool      # ...and it was right
    revealed: bool   # Reveal was pressed for it


def quiz(key: str, asked: Hashable, check: Callable[[str], tuple[bool, str]], placeholder: str, *,
         label: str = "Your answer", reveals: Hashable = None, reveal_on_check: bool = False,
         next_question: bool = False) -> QuizState:
    """Predict, then reveal: an answer box, Check and Reveal (and Next question), their session keys
    named `key`_answer, _check, _reveal, _next, _feedback, _revealed. `asked` names the question
    shown, so feedback appears only for its own question; check(answer) is (right, the sentence to
    show). Reveal (and Check, with reveal_on_check) marks `reveals` (by default `asked`) revealed.
    Next question adds one to `key`_seed (the page draws its question from it) and starts clean."""
    state = st.session_state
    reveals = asked if reveals is None else reveals

    def on_check():
        state[f"{key}_feedback"] = (asked, *check(state.get(f"{key}_answer", "")))
        if reveal_on_check:
            state[f"{key}_revealed"] = reveals

    def on_reveal():
        state[f"{key}_revealed"] = reveals

    def on_next():
        state[f"{key}_seed"] += 1
        state[f"{key}_answer"] = ""
        state[f"{key}_feedback"] = state[f"{key}_revealed"] = None

    st.text_input(label, key=f"{key}_answer", placeholder=placeholder)
    columns = st.columns(3 if next_question else 2)
    columns[0].button("Check", key=f"{key}_check", on_click=on_check, width="stretch")
    columns[1].button("Reveal", key=f"{key}_reveal", on_click=on_reveal, width="stretch")
    if next_question:
        columns[2].button("Next question", key=f"{key}_next", on_click=on_next, width="stretch")
    answered, right, text = state.get(f"{key}_feedback") or (None, False, "")
    checked = answered == asked
    if checked:
        (st.success if right else st.warning)(text)
    return QuizState(checked, checked and right, state.get(f"{key}_revealed") == reveals)
