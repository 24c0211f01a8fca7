"""Home: what the app is, what this machine has ready, and what is coming."""
from pathlib import Path

import pandas as pd
import streamlit as st

from nets.config import FOUR_CONFIGS_BASE, PRESETS
from nets.data import dataset_status, default_data_dir
from nets.device import device_name
from nets.runs import list_runs
from pages._common import checkpoints_root, ensure_app_entry, load_train_config

LESSON = Path(__file__).resolve().parent.parent / "assets" / "home.md"

ensure_app_entry()

QUICK_STARTS = [  # (button, what it trains, config, as the four configurations)
    ("MNIST in a minute", "LeNet on the bundled MNIST digits, 5 epochs", PRESETS["mnist-minute"], False),
    ("The four optimizer/loss configurations", "cnn5 on CIFAR-10: SGD and Adam × cross-entropy and "
     "squared error", FOUR_CONFIGS_BASE, True),
    ("ResNet-18 from scratch", "CIFAR-10, SGD 0.01, cosine schedule, clipping, early stopping",
     PRESETS["resnet18-scratch"], False),
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
    ready = dataset_status(default_data_dir())
    st.dataframe(pd.DataFrame({"dataset": list(ready),
                               "status": ["ready offline" if ok else "downloads on first use"
                                          for ok in ready.values()]}),
                 hide_index=True, width="stretch")
with right:
    st.subheader("Saved runs")
    runs, problems = list_runs(checkpoints_root())
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
