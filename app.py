"""Neural Net Lab: navigation and the shared sidebar only; every page lives in pages/."""
import time

import streamlit as st

started = time.perf_counter()  # the whole script's time, for $NNLAB_PAGE_TIMES (tests/loadtest.py)
st.set_page_config(page_title="Neural Net Lab", page_icon="🧠", layout="wide")
# A fresh server's very first run finds pages/ and lists every file in it, internal modules included,
# until this script reaches st.navigation (streamlit#9624). .streamlit/config.toml hides that listing
# (client.showSidebarNavigation = false); the app's own navigation below is shown again here, before
# anything slow is imported, so the sidebar shows the real pages at once and never the files.
st.set_option("client.showSidebarNavigation", True)
nav = st.navigation({
    "Start": [st.Page("pages/home.py", title="Home", icon="🏠", default=True),
              st.Page("pages/playground.py", title="Playground", icon="🛝"),
              st.Page("pages/server.py", title="Server", icon="🖥️")],
    "Train and compare": [
        st.Page("pages/train.py", title="Train", icon="🏋️"),
        st.Page("pages/build.py", title="Build a network", icon="🧱"),
        st.Page("pages/runs.py", title="Runs", icon="📊"),
        st.Page("pages/data_lab.py", title="Data lab", icon="🧪"),
        st.Page("pages/speed_lab.py", title="Speed lab", icon="🏎️"),
        st.Page("pages/predictions.py", title="Predictions", icon="🔍"),
    ],
    "Look inside": [
        st.Page("pages/anatomy.py", title="Anatomy", icon="🧬"),
        st.Page("pages/classify.py", title="Classify an image", icon="🖼️"),
        st.Page("pages/projector.py", title="Feature projector", icon="🔭"),
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

from nets import settings  # noqa: E402 (torch and the pages' helpers load after the navigation)
from nets.server.log import record_page_time  # noqa: E402
from pages._identity import config_problems  # noqa: E402
from pages._service import warm_up  # noqa: E402
from pages._sidebar import sidebar  # noqa: E402

warm_up()  # once per server process: thread count, lazy imports, gc

sidebar(on_train=nav.url_path == "train")
if problems := config_problems():  # a shared server left open or unmanageable: loud, on every page
    st.warning("**This server is not safe for a class yet.** Fix `.streamlit/secrets.toml`:\n\n"
               + "\n".join(f"- {p}" for p in problems), icon="⚠️")
try:
    nav.run()
finally:  # st.stop and reruns end a page with an exception: its time counts all the same
    record_page_time(nav.title, time.perf_counter() - started, settings.get("NNLAB_PAGE_TIMES"))
