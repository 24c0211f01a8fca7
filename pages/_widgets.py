"""Streamlit drawing helpers shared by the pages (not a page): square-pixel pictures, picture grids, the top-k
table, tables with a dash for what is missing."""
from __future__ import annotations

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
