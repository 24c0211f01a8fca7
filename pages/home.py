"""Home: what the app is, what this machine has ready, and what is coming."""
from pathlib import Path

import pandas as pd
import streamlit as st

from nets.config import FOUR_CONFIGS_BASE, PRESETS
from nets.data import DATASETS, availability, default_data_dir
from nets.device import device_name
from pages._common import ensure_app_entry, load_train_config, visible_runs

LESSON = Path(__file__).resolve().parent.parent / "assets" / "home.md"

ensure_app_entry()

# (button, what it trains, config, as the four configurations). All three use bundled data, so they
# work on a machine with no network; the times were measured on a shared 2-core CPU (README).
QUICK_STARTS = [
    ("MNIST in a minute", "LeNet on the bundled MNIST digits, 5 epochs: under 10 seconds on a CPU.",
     PRESETS["mnist-minute"], False),
    ("The four optimizer/loss configurations", "cnn5 on the bundled Fashion-MNIST: SGD and Adam × "
     "cross-entropy and squared error, 20 epochs each: 1½–5 minutes for all four on a CPU.",
     FOUR_CONFIGS_BASE, True),
    ("ResNet-18 from scratch", "The coursework's recipe (SGD 0.01, cosine schedule, clipping, early "
     "stopping) on the bundled Fashion-MNIST, 10 epochs: about 1–2 minutes on a CPU.",
     PRESETS["resnet18-scratch-mini"], False),
]


def open_in_train(cfg, four: bool) -> None:
    load_train_config(cfg, four)
    st.switch_page("pages/train.py")


st.title("🧠 Neural Net Lab")
st.markdown(LESSON.read_text())

st.subheader("Start here")
for col, (label, what, cfg, four) in zip(st.columns(len(QUICK_STARTS)), QUICK_STARTS):
    with col.container(border=True):
        st.markdown(f"**{label}**  \n{what}")
        if st.button("Open in Train", key=f"preset-{label}"):
            open_in_train(cfg, four)

left, right = st.columns(2)
with left:
    st.subheader("This machine")
    st.metric("Training device", device_name())
    shown = [d for d in DATASETS if d != "folder"]
    st.dataframe(pd.DataFrame({"dataset": shown, "status": [availability(d, default_data_dir()) for d in shown]}),
                 hide_index=True, width="stretch")
with right:
    st.subheader("Saved runs")
    runs, problems = visible_runs()  # a student: their own, shared and ownerless runs
    if runs:
        st.dataframe(pd.DataFrame([{
            "name": r.name, "dataset": r.config.dataset, "model": r.config.model,
            "status": r.info.get("status"),
            "best test acc": (r.info.get("test") or {}).get("accuracy"),
        } for r in runs]), hide_index=True, width="stretch",
            column_config={"best test acc": st.column_config.ProgressColumn(min_value=0, max_value=1, format="percent")})
    else:
        st.info("No saved runs yet: press **MNIST in a minute** above.")
    for p in problems:
        st.warning(p)
