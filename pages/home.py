"""Home: what the app is, what this machine has ready, and what is coming."""
from pathlib import Path

import pandas as pd
import streamlit as st

from nets.data import dataset_status, default_data_dir
from nets.device import device_name
from nets.runs import DEFAULT_ROOT, list_runs

LESSON = Path(__file__).resolve().parent.parent / "assets" / "home.md"

st.title("🧠 Neural Net Lab")
st.markdown(LESSON.read_text())

left, right = st.columns(2)
with left:
    st.subheader("This machine")
    st.metric("Training device", device_name())
    ready = dataset_status(default_data_dir())
    st.dataframe(pd.DataFrame({"dataset": list(ready),
                               "status": ["ready offline" if ok else "downloads on first use"
                                          for ok in ready.values()]}),
                 hide_index=True, width="stretch")
with right:
    st.subheader("Saved runs")
    runs, problems = list_runs(DEFAULT_ROOT)
    if runs:
        st.dataframe(pd.DataFrame([{
            "name": r.name, "dataset": r.config.dataset, "model": r.config.model,
            "status": r.info.get("status"),
            "best test acc": (r.info.get("test") or {}).get("accuracy"),
        } for r in runs]), hide_index=True, width="stretch",
            column_config={"best test acc": st.column_config.ProgressColumn(min_value=0, max_value=1, format="percent")})
    else:
        st.info("No saved runs yet. Train one from the command line: "
                "`python -m nets.train --preset mnist-minute`")
    for p in problems:
        st.warning(p)
