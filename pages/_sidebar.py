"""The shared sidebar and the sign-in that every page shows (not a page itself): who this is, the
device and data folder, the lecturer's password; a signed-out student is asked on the Train page."""
import streamlit as st

from nets.engine.catalog import default_data_dir
from nets.engine.device import device_name
from nets.runs.access import password_matches
from nets.server.identity import MAX_NAME, shown_name
from pages._common import identity, identity_settings, lecturer_password, sign_in, sign_out, signed_out_message


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


def lecturer_ui() -> None:
    """The password that unlocks lecturer mode, on a classroom server (none configured: single-user)."""
    if not lecturer_password():
        return
    if st.session_state.get("lecturer"):
        st.caption("🎓 Lecturer mode")
        st.button("Leave lecturer mode", on_click=lambda: st.session_state.update(lecturer=False))
    else:
        st.text_input("Lecturer password", type="password", key="lecturer_try", on_change=unlock)
        if st.session_state.get("lecturer_failed"):
            st.caption("That password is not right.")


def sidebar(on_train: bool) -> None:
    """The sidebar of every page, and on the Train page a signed-out student's sign-in at its top
    (before they can train, where they train)."""
    with st.sidebar:
        identity_ui(form_here=not on_train)
        st.caption(f"Device: **{device_name()}**")
        st.caption(f"Data folder: `{default_data_dir().resolve()}`")
        lecturer_ui()
    if on_train and not identity():
        with st.container(border=True):
            st.markdown(signed_out_message())
            sign_in_ui(wide=True)
