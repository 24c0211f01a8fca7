"""Neural Net Lab: navigation and the shared sidebar only; every page lives in pages/."""
import os
import time

import streamlit as st

from nets.engine.data import default_data_dir
from nets.engine.device import device_name
from nets.runs.access import password_matches
from nets.server.identity import MAX_NAME, shown_name
from nets.server.log import record_page_time
from pages._common import (
    identity,
    identity_settings,
    lecturer_password,
    sign_in,
    sign_out,
    signed_out_message,
    warm_up,
)

started = time.perf_counter()  # the whole script's time, for $NNLAB_PAGE_TIMES (tests/loadtest.py)
st.set_page_config(page_title="Neural Net Lab", page_icon="🧠", layout="wide")
warm_up()  # once per server process: thread count, lazy imports, gc

nav = st.navigation({
    "Start": [st.Page("pages/home.py", title="Home", icon="🏠", default=True),
              st.Page("pages/server.py", title="Server", icon="🖥️")],
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


def do_sign_in() -> None:
    st.session_state["sign_in_failed"] = sign_in(st.session_state.get("id_name", ""),
                                                 st.session_state.get("id_code", ""))


def log_in(provider: str | None) -> None:
    try:
        st.login(provider)
    except Exception as e:  # authlib missing, or [auth] incomplete: say so instead of a traceback
        st.session_state["sign_in_failed"] = f"Logging in does not work on this server yet: {e}"


def sign_in_ui(wide: bool = False) -> None:
    """What a signed-out student uses: the login button(s), or their name and the class code."""
    settings = identity_settings()
    if settings.mode == "login":
        for provider in settings.providers:
            st.button("Log in" + (f" with {provider}" if provider else ""), key=f"login-{provider}",
                      on_click=log_in, args=(provider,), type="primary")
    elif settings.mode == "class":
        with st.form("sign_in", border=False):
            name, code, go = st.columns([3, 3, 1.2], vertical_alignment="bottom") if wide else [st.container()] * 3
            name.text_input("Your name", key="id_name", max_chars=MAX_NAME, placeholder="to keep your runs")
            if settings.class_code:
                code.text_input("Class code", key="id_code", type="password", help="Your lecturer gives it.")
            go.form_submit_button("Sign in", on_click=do_sign_in, type="primary")
    if (failed := st.session_state.get("sign_in_failed")):
        st.caption(failed)


def identity_ui(form_here: bool) -> None:
    """Who this is, in the sidebar: a login (Streamlit's [auth]), a student's name (a classroom
    server), or nothing to ask (a laptop). The Train page asks a signed-out student at its top instead."""
    settings, me = identity_settings(), identity()
    if st.session_state.get("lecturer") or settings.mode == "laptop":
        return  # the lecturer's own block below says who this is; a laptop asks nothing
    if me:
        st.caption(f"👤 {'Logged' if settings.mode == 'login' else 'Signed'} in as **{shown_name(me)}**")
        st.button("Log out" if settings.mode == "login" else "Sign out",
                  on_click=st.logout if settings.mode == "login" else sign_out)
    elif form_here:
        sign_in_ui()


on_train = nav.url_path == "train"
with st.sidebar:
    identity_ui(form_here=not on_train)
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

if on_train and not identity():  # before they can train, at the top of the page they train on
    with st.container(border=True):
        st.markdown(signed_out_message())
        sign_in_ui(wide=True)
try:
    nav.run()
finally:  # st.stop and reruns end a page with an exception: its time counts all the same
    record_page_time(nav.title, time.perf_counter() - started, os.environ.get("NNLAB_PAGE_TIMES"))
