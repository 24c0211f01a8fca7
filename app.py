"""Neural Net Lab: navigation and the shared sidebar only; every page lives in pages/."""
import streamlit as st

from nets.access import password_matches
from nets.data import default_data_dir
from nets.device import device_name
from pages._common import lecturer_password, warm_up

st.set_page_config(page_title="Neural Net Lab", page_icon="🧠", layout="wide")
warm_up()  # once per server process: thread count, lazy imports, gc

nav = st.navigation({
    "Start": [st.Page("pages/home.py", title="Home", icon="🏠", default=True)],
    "Train and compare": [
        st.Page("pages/train.py", title="Train", icon="🏋️"),
        st.Page("pages/runs.py", title="Runs", icon="📊"),
        st.Page("pages/predictions.py", title="Predictions", icon="🔍"),
    ],
    "Look inside": [
        st.Page("pages/anatomy.py", title="Anatomy", icon="🧬"),
        st.Page("pages/classify.py", title="Classify an image", icon="🖼️"),
    ],
    "ResNet lab": [
        st.Page("pages/transfer.py", title="Pretrained ResNets", icon="🏛️"),
        st.Page("pages/inside_cnn.py", title="Activation maps and Grad-CAM", icon="🔥"),
        st.Page("pages/augment_preview.py", title="Augmentation preview", icon="🎲"),
    ],
    "Calculators": [
        st.Page("pages/forward_pass.py", title="Forward pass", icon="➡️"),
        st.Page("pages/logic_network.py", title="XOR logic network", icon="🔀"),
        st.Page("pages/conv_arithmetic.py", title="Convolution arithmetic", icon="🧮"),
        st.Page("pages/entropy.py", title="Cross-entropy and KL", icon="📐"),
    ],
    "From scratch": [
        st.Page("pages/scratch.py", title="NumPy network", icon="✍️"),
    ],
}, expanded=True)  # every page visible: a lecturer points at them in class

def unlock() -> None:
    ok = password_matches(st.session_state.get("lecturer_try", ""), lecturer_password())
    st.session_state["lecturer"] = ok
    st.session_state["lecturer_failed"] = not ok


with st.sidebar:
    st.caption(f"Device: **{device_name()}**")
    st.caption(f"Data folder: `{default_data_dir().resolve()}`")
    if lecturer_password():  # a classroom server; with no password the app is single-user
        if st.session_state.get("lecturer"):
            st.caption("🎓 Lecturer mode")
            st.button("Leave lecturer mode", on_click=lambda: st.session_state.update(lecturer=False))
        else:
            st.text_input("Lecturer password", type="password", key="lecturer_try", on_change=unlock)
            if st.session_state.get("lecturer_failed"):
                st.caption("That password is not right.")

nav.run()
