"""Who this session is: sign-in, lecturer mode, the accounts store, and what the session may do with runs."""
from __future__ import annotations

import streamlit as st

from pages._service import checkpoints_root

IDENTITY_KEY, TOKEN_KEY = "identity", "identity_token"
LECTURER_KEY, LECTURER_TOKEN_KEY = "lecturer", "lecturer_token"


def _secrets() -> dict:
    try:
        return st.secrets.to_dict()
    except Exception:  # no secrets file at all: a laptop
        return {}


def identity_settings():
    """The server's identity set-up from Streamlit secrets (nets.server.identity.settings_from_secrets)."""
    from nets.server.identity import settings_from_secrets
    return settings_from_secrets(_secrets())


def config_problems() -> list[str]:
    """What leaves this server open or unmanageable (nets.server.identity.problems), each logged
    once per process; app.py shows them on every page."""
    from nets.server.identity import report_problems
    return report_problems(identity_settings())


@st.cache_resource(show_spinner=False)
def _accounts(root: str):
    from nets.server.accounts import Accounts
    return Accounts(root)


def accounts():
    """Passphrases, session tokens and the throttle on wrong tries (nets.server.accounts), one per
    checkpoints folder and server process."""
    return _accounts(str(checkpoints_root()))


def browser() -> str:
    """This browser's fingerprint (nets.server.accounts.browser_key): a token works only where it was issued."""
    from nets.server.accounts import browser_key
    try:
        return browser_key(st.context.cookies)
    except Exception:  # no script context (a callback in a bare test)
        return ""


def identity() -> str:
    """This session's identity: "lecturer" in lecturer mode, else the student's ('' until a student
    on a classroom server signs in). Checked on every run (a revoked or expired token signs the tab
    out) and kept in the URL, because st.navigation drops query parameters on a page switch and a
    refresh keeps only the URL."""
    from nets.server.identity import LECTURER, URL_PARAMS, Session, resolve, url_params
    settings, state = identity_settings(), st.session_state
    try:
        user = st.user.to_dict()
    except Exception:  # no script context (a callback in a bare test)
        user = {}
    held = Session(state.get(IDENTITY_KEY, ""), state.get(TOKEN_KEY, ""), bool(state.get(LECTURER_KEY)),
                   state.get(LECTURER_TOKEN_KEY, ""))
    now = resolve(settings, held, st.query_params.to_dict(), user, accounts() if settings.shared else None,
                  browser())
    state[IDENTITY_KEY], state[TOKEN_KEY] = now.identity, now.token
    state[LECTURER_KEY], state[LECTURER_TOKEN_KEY] = now.lecturer, now.lecturer_token
    keep_in_url(url_params(now, settings), URL_PARAMS)  # only what this mode keeps
    return LECTURER if now.lecturer else now.identity


def keep_in_url(wanted: dict[str, str], managed) -> None:
    """Make the URL hold `wanted` among the `managed` query parameters (the others are left alone),
    writing only what differs: st.navigation drops query parameters on a page switch and a browser
    refresh keeps only the URL, so a page re-sets what it must find again."""
    for key in managed:
        if key in wanted and st.query_params.get(key) != wanted[key]:
            st.query_params[key] = wanted[key]
        elif key not in wanted and key in st.query_params:
            del st.query_params[key]


def sign_in(name: str, code: str, passphrase: str = "") -> str:
    """Sign this session in as the student `name` (the first time with a name, `passphrase` becomes
    its passphrase); returns why not, '' when it worked."""
    from nets.server.identity import IdentityError
    try:
        who, token = accounts().sign_in(name, code, passphrase, identity_settings(), browser())
    except IdentityError as e:
        return str(e)
    st.session_state[IDENTITY_KEY], st.session_state[TOKEN_KEY] = who, token
    identity()  # the URL keeps the token from now on
    return ""


def sign_out() -> None:
    """End this student's session: its token is revoked, so the old URL signs nobody in."""
    from nets.server.identity import NAME_PARAM, TOKEN_PARAM
    accounts().revoke(st.session_state.get(TOKEN_KEY, ""))
    st.session_state[IDENTITY_KEY], st.session_state[TOKEN_KEY] = "", ""
    for key in {NAME_PARAM, TOKEN_PARAM} & set(st.query_params):
        del st.query_params[key]


def enter_lecturer_mode(password: str) -> str:
    """Lecturer mode for the right lecturer_password, kept across a refresh by its own token;
    returns why not ('' when it worked). Wrong tries are slowed and logged."""
    from nets.server.identity import IdentityError
    try:
        token = accounts().lecturer_sign_in(password, identity_settings(), browser())
    except IdentityError as e:
        return str(e)
    st.session_state[LECTURER_KEY], st.session_state[LECTURER_TOKEN_KEY] = True, token
    identity()
    return ""


def leave_lecturer_mode() -> None:
    from nets.server.identity import LECTURER_PARAM
    accounts().revoke(st.session_state.get(LECTURER_TOKEN_KEY, ""))
    st.session_state[LECTURER_KEY], st.session_state[LECTURER_TOKEN_KEY] = False, ""
    if LECTURER_PARAM in st.query_params:
        del st.query_params[LECTURER_PARAM]


def session_owner() -> str:
    """The identity that owns the jobs this session starts. A student who has not signed in is
    told to, and the page stops: a job must never belong to nobody."""
    owner = identity()
    if not owner:
        st.error(signed_out_message())
        st.stop()
    return owner


def signed_out_message() -> str:
    return ("**Log in to train**: your runs and jobs are kept under your account."
            if identity_settings().mode == "login" else
            "**Sign in with your name to train**: your runs and jobs are kept under it, in any tab.")


def access():
    """What this session may do with runs (see nets.runs.access): single-user only on a laptop
    (none of [auth], class_code, lecturer_password in the secrets)."""
    from nets.runs.access import Access
    owner = identity()  # first: it settles lecturer mode for this run
    return Access(owner, bool(st.session_state.get(LECTURER_KEY)), not identity_settings().shared)


def shows_paths() -> bool:
    """Whether this session sees the server's own folders (the runs and data folders): the lecturer's
    and a laptop user's to know, not a student's on a shared server."""
    return access().everything
