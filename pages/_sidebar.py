"""The shared sidebar and the sign-in that every page shows (not a page itself): who this is, the
device and data folder, lecturer mode (and the lecturer's passphrase resets); a signed-out student
is asked on the Train page."""
import streamlit as st

from nets.engine.catalog import default_data_dir
from nets.engine.device import device_name
from nets.server.identity import LECTURER, MAX_NAME, IdentityError, named_lecturer, shown_name
from nets.text import plain
from pages._identity import (
    IDENTITY_KEY,
    accounts,
    enter_lecturer_mode,
    identity,
    identity_settings,
    leave_lecturer_mode,
    shows_paths,
    sign_in,
    sign_out,
    signed_out_message,
)


def unlock() -> None:
    failed = enter_lecturer_mode(st.session_state.get("lecturer_try", ""))
    st.session_state["lecturer_try"] = ""  # the password does not stay in the widget
    st.session_state["lecturer_failed"] = failed


def do_sign_in() -> None:
    st.session_state["sign_in_failed"] = sign_in(st.session_state.get("id_name", ""),
                                                 st.session_state.get("id_code", ""),
                                                 st.session_state.get("id_pass", ""))
    st.session_state["id_pass"] = ""


def do_reset() -> None:
    name = st.session_state.get("reset_name", "")
    try:
        done = accounts().reset(name) if identity() == LECTURER else None  # checked at the click
        message = ("Only the lecturer resets passphrases." if done is None else
                   f"Reset: {plain(name)} chooses a new passphrase at the next sign-in." if done else
                   f"No student has signed in as {plain(name)}: nothing to reset.")
    except IdentityError as e:
        message = str(e)
    st.session_state["reset_done"] = message


def log_in(provider: str | None) -> None:
    try:
        st.login(provider)
    except Exception as e:  # authlib missing, or [auth] incomplete: say so instead of a traceback
        st.session_state["sign_in_failed"] = f"Logging in does not work on this server yet: {plain(str(e))}"


def sign_in_ui(wide: bool = False) -> None:
    """What a signed-out student uses: the login button(s), or their name, the class code and their
    personal passphrase."""
    settings = identity_settings()
    if settings.mode == "login":
        for provider in settings.providers:
            st.button("Log in" + (f" with {provider}" if provider else ""), key=f"login-{provider}",
                      on_click=log_in, args=(provider,), type="primary")
        if not settings.providers:
            st.caption("Logging in is not set up on this server yet: ask your lecturer.")
    elif settings.mode == "class":
        with st.form("sign_in", border=False):
            name, code, phrase, go = (st.columns([3, 3, 3, 1.2], vertical_alignment="bottom") if wide
                                      else [st.container()] * 4)
            name.text_input("Your name", key="id_name", max_chars=MAX_NAME, placeholder="to keep your runs")
            if settings.class_code:
                code.text_input("Class code", key="id_code", type="password", help="Your lecturer gives it.")
            phrase.text_input("Your passphrase", key="id_pass", type="password", max_chars=200,
                              help="The first time you sign in with a name, what you type here becomes its "
                                   "passphrase: you need it to sign in again, so nobody else can use your "
                                   "name. Forgot it? Your lecturer can reset it.")
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
        st.caption(f"👤 {'Logged' if settings.mode == 'login' else 'Signed'} in as **{plain(shown_name(me))}**")
        st.button("Log out" if settings.mode == "login" else "Sign out",
                  on_click=st.logout if settings.mode == "login" else sign_out)
    elif form_here:
        sign_in_ui()


def lecturer_ui() -> None:
    """Lecturer mode: the password that unlocks it (when one is set), or a login the secrets name as a
    lecturer; in it, resetting a student's forgotten passphrase."""
    settings = identity_settings()
    by_login = named_lecturer(st.session_state.get(IDENTITY_KEY, ""), settings)
    if not settings.password and not by_login:
        return
    if st.session_state.get("lecturer"):
        st.caption("🎓 Lecturer mode")
        if by_login:  # a login the secrets name stays the lecturer until it logs out
            st.caption(f"Logged in as **{plain(shown_name(st.session_state.get(IDENTITY_KEY, '')))}**")
            st.button("Log out", on_click=st.logout)
        else:
            st.button("Leave lecturer mode", on_click=leave_lecturer_mode)
        if settings.mode == "class":
            with st.expander("Reset a student's passphrase"):
                st.text_input("Student's name", key="reset_name", max_chars=MAX_NAME)
                st.button("Reset passphrase", on_click=do_reset)
                if (done := st.session_state.get("reset_done")):
                    st.caption(done)
    else:
        st.text_input("Lecturer password", type="password", key="lecturer_try", on_change=unlock)
        if (failed := st.session_state.get("lecturer_failed")):
            st.caption(failed)


def sidebar(on_train: bool) -> None:
    """The sidebar of every page, and on the Train page a signed-out student's sign-in at its top
    (before they can train, where they train)."""
    with st.sidebar:
        identity_ui(form_here=not on_train)
        st.caption(f"Device: **{device_name()}**")
        if shows_paths():
            st.caption(f"Data folder: `{default_data_dir().resolve()}`")
        lecturer_ui()
    if on_train and not identity():
        with st.container(border=True):
            st.markdown(signed_out_message())
            sign_in_ui(wide=True)
