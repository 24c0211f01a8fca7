"""Who is using the app: the server's mode from its secrets, what is unsafe in them, and a session's identity.

Modes (settings_from_secrets reads .streamlit/secrets.toml):
- laptop: none of `[auth]`, `class_code`, `lecturer_password`. One user: every run is open; a random
  id in the URL only keeps a tab's jobs its own.
- login: an `[auth]` section (Streamlit's OIDC login). The identity is the account's e-mail; the
  accounts named in `lecturers = ["prof@uni.edu"]` (any case) are lecturers without a password, and
  whoever types `lecturer_password` (when one is set) is too.
- class: a `class_code` or a `lecturer_password` without login. Students sign in with a name, the
  class code and a personal passphrase (nets.server.accounts: the first sign-in with a name sets it).
Every mode but laptop is a shared server where ownership applies (nets.runs.access). problems()
lists what leaves a shared server open or unmanageable; the app shows it on every page and logs it.

A refresh keeps an identity through the URL: a random token (nets.server.accounts) that the server
maps to the identity, expires after `session_hours` (default 12) and is revoked by Sign out; the
lecturer's mode has a token of its own, revoked by leaving lecturer mode. A login keeps its own cookie.
Identities carry a prefix ("user:", "name:", "anon:"), so one kind never equals another, and none
equals LECTURER. Names are NFKC-normalised and case-folded; a name mixing Latin, Cyrillic and Greek
letters is refused, and skeleton() finds look-alikes ("аlice" in Cyrillic looks like "alice").
"""
from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

# the sign-in's URL parameters, named where the link codec keeps them out of lesson links
from nets.link.codec import ANON_PARAM, IDENTITY_PARAMS as URL_PARAMS, LECTURER_PARAM, NAME_PARAM, TOKEN_PARAM  # noqa: F401

LECTURER = "lecturer"
MAX_NAME = 40
MIN_PASSWORD = 10          # a shorter lecturer_password is reported as guessable
DEFAULT_HOURS, MAX_HOURS = 12.0, 24.0 * 30
_NAME_CHARS = re.compile(r"[\w .'\-]+")        # letters of any alphabet, digits, space . ' - _
_ANON = re.compile(r"[0-9a-f]{32}")
_LOOKALIKE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK"})
log = logging.getLogger("nnlab.identity")


class IdentityError(ValueError):
    """A name, class code, passphrase or password that cannot be used, with the reason in words."""


@dataclass(frozen=True)
class Settings:
    password: str = ""        # the lecturer's password
    class_code: str = ""      # what students type with their name
    providers: tuple = ()     # Streamlit login providers (None: the unnamed default); (): no usable login
    lecturers: tuple = ()     # login e-mails that are lecturers, lower case
    auth: bool = False        # an [auth] section exists, complete or not
    session_hours: float = DEFAULT_HOURS  # how long a sign-in's token lasts
    notes: tuple = ()         # what could not be read from the secrets, in words

    @property
    def mode(self) -> str:
        if self.providers or (self.auth and not (self.password or self.class_code)):
            return "login"    # an incomplete [auth] alone: a login server nobody can log in to yet
        return "class" if self.password or self.class_code else "laptop"

    @property
    def shared(self) -> bool:
        """A classroom server: runs belong to their owner (only a laptop is single-user)."""
        return self.mode != "laptop"


def login_providers(auth: Mapping | None) -> tuple:
    """The providers an [auth] secrets section configures: None for settings at its top level, and
    the name of each [auth.<name>] section. Needs the shared redirect_uri and cookie_secret."""
    if not isinstance(auth, Mapping) or not auth.get("redirect_uri") or not auth.get("cookie_secret"):
        return ()
    named = tuple(str(k) for k, v in auth.items() if isinstance(v, Mapping) and v.get("client_id"))
    return ((None,) if auth.get("client_id") else ()) + named


def settings_from_secrets(secrets_: Mapping) -> Settings:
    """The server's set-up from its Streamlit secrets (a plain mapping; {} when there is no file)."""
    notes = []
    listed = secrets_.get("lecturers", ())
    if isinstance(listed, str):
        listed = [listed]
    if not isinstance(listed, (list, tuple)):
        notes.append('`lecturers` must be a list of e-mail addresses, e.g. lecturers = ["prof@uni.edu"].')
        listed = ()
    hours = secrets_.get("session_hours", DEFAULT_HOURS)
    try:
        hours = float(hours)
        if not 0 < hours <= MAX_HOURS:
            raise ValueError
    except (TypeError, ValueError):
        notes.append(f"`session_hours` must be a number of hours above 0 and at most {MAX_HOURS:.0f}; "
                     f"{DEFAULT_HOURS:.0f} is used.")
        hours = DEFAULT_HOURS
    return Settings(password=str(secrets_.get("lecturer_password") or ""),
                    class_code=str(secrets_.get("class_code") or ""),
                    providers=login_providers(secrets_.get("auth")),
                    lecturers=tuple(sorted({str(e).strip().lower() for e in listed if str(e).strip()})),
                    auth="auth" in secrets_, session_hours=hours, notes=tuple(notes))


def problems(settings: Settings) -> list[str]:
    """What leaves this server open or unmanageable, one sentence each ([] when nothing does)."""
    s, found = settings, list(settings.notes)
    if s.auth and not s.providers:
        found.append("The `[auth]` section of the secrets is incomplete (it needs redirect_uri, cookie_secret "
                     "and a client_id): nobody can log in.")
    if s.mode == "login" and not s.lecturers and not s.password:
        found.append('Login is on, but no lecturer is named (`lecturers = ["you@uni.edu"]`) and there is no '
                     "`lecturer_password`: nobody can manage this server.")
    if s.mode == "class" and not s.password:
        found.append("A `class_code` is set but no `lecturer_password`: nobody can manage this server "
                     "(share runs, clean up, stop jobs, reset passphrases).")
    if s.password and len(s.password) < MIN_PASSWORD:
        found.append(f"The `lecturer_password` is shorter than {MIN_PASSWORD} characters: a student could guess it.")
    if s.lecturers and not s.auth:
        found.append("`lecturers` names login accounts, but there is no `[auth]` login: it has no effect.")
    return found


_reported: set[str] = set()


def report_problems(settings: Settings) -> list[str]:
    """problems(), each written to the server log the first time this process sees it."""
    found = problems(settings)
    for problem in found:
        if problem not in _reported:
            _reported.add(problem)
            log.warning("Unsafe server set-up: %s", problem)
    return found


# ------------------------------------------------------------------------------ a student's name
def scripts(text: str) -> set[str]:
    """The alphabets of the letters in `text` ("LATIN", "CYRILLIC", "GREEK", "CJK", …)."""
    return {unicodedata.name(c, "?").split(" ")[0] for c in text if c.isalpha()}


def normalise_name(text: str) -> str:
    """The name as an identity uses it: same letters, any case, any spacing, give the same name.
    Latin, Cyrillic and Greek letters in one name are refused: that is how look-alikes are made."""
    name = " ".join(unicodedata.normalize("NFKC", str(text or "")).split()).casefold()
    if not name:
        raise IdentityError("Type your name.")
    if len(name) > MAX_NAME:
        raise IdentityError(f"A name has at most {MAX_NAME} characters.")
    if not _NAME_CHARS.fullmatch(name) or not any(c.isalnum() for c in name):
        raise IdentityError("A name has letters, digits, spaces, dots, hyphens and apostrophes only.")
    if len(scripts(name) & _LOOKALIKE_SCRIPTS) > 1:
        raise IdentityError("A name uses one alphabet: Latin, Cyrillic or Greek letters, not a mix.")
    return name


# Letters that look alike in most fonts, mapped to one of them (a small part of Unicode's
# confusables list: the Cyrillic and Greek letters that pass for Latin ones, and digits for letters).
_LOOKALIKES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "ë", "һ": "h", "і": "i", "ї": "ï", "ј": "j", "к": "k", "м": "m",
    "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "ԁ": "d", "ԛ": "q",
    "ԝ": "w", "ӏ": "l", "ɡ": "g", "ı": "i", "α": "a", "β": "b", "γ": "y", "ε": "e", "ι": "i", "κ": "k",
    "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
    "0": "o", "1": "l", "|": "l", "_": "-",
})


def skeleton(name: str) -> str:
    """What a normalised name looks like: two names with the same skeleton are hard to tell apart
    ("аlice" in Cyrillic, "alice", "a1ice"); a new account may not take another's skeleton."""
    s = name.translate(_LOOKALIKES)
    for many, one in (("rn", "m"), ("vv", "w")):
        s = s.replace(many, one)
    return s


def student_identity(name: str, code: str, settings: Settings) -> str:
    """'name:<normalised name>' once the class code (when the lecturer set one) is right. The
    passphrase is nets.server.accounts' to check."""
    normal = normalise_name(name)
    if settings.class_code and not secrets.compare_digest(str(code or "").strip().encode(),
                                                         settings.class_code.strip().encode()):
        raise IdentityError("That class code is not right: ask your lecturer.")
    return "name:" + normal


# ------------------------------------------------------------------------------ a session
@dataclass(frozen=True)
class Session:
    """What a browser tab holds between runs: its identity, the token that proves it, and lecturer mode."""
    identity: str = ""
    token: str = ""
    lecturer: bool = False
    lecturer_token: str = ""


def _param(params: Mapping, key: str) -> str:
    value = params.get(key, "")
    return str(value[-1] if isinstance(value, (list, tuple)) and value else value or "")


def url_params(session: Session, settings: Settings) -> dict[str, str]:
    """What the URL keeps so that a refresh finds the same session: a student's token on a classroom
    server, a laptop tab's id, the lecturer's token (a login has its own cookie)."""
    kept = {}
    if settings.mode == "class" and session.identity.startswith("name:") and session.token:
        kept[TOKEN_PARAM] = session.token
    if settings.mode == "laptop" and session.identity.startswith("anon:"):
        kept[ANON_PARAM] = session.identity.removeprefix("anon:")
    if session.lecturer and session.lecturer_token:
        kept[LECTURER_PARAM] = session.lecturer_token
    return kept


def new_anonymous() -> str:
    """A fresh random id for a laptop's tab: 128 bits, so no one guesses another tab's."""
    return "anon:" + secrets.token_hex(16)


def login_identity(user: Mapping) -> str:
    """'user:<email>' (or the provider's subject id) for a logged-in account; '' otherwise."""
    if user.get("is_logged_in") is not True:
        return ""
    email, sub = str(user.get("email") or "").strip().lower(), str(user.get("sub") or "").strip()
    return "user:" + email if email else "user:sub:" + sub if sub else ""


def named_lecturer(identity: str, settings: Settings) -> bool:
    """A login that the secrets name as a lecturer."""
    return (settings.mode == "login" and identity.startswith("user:") and not identity.startswith("user:sub:")
            and identity.removeprefix("user:") in settings.lecturers)


def resolve(settings: Settings, held: Session, params: Mapping, user: Mapping, tokens=None,
            browser: str = "") -> Session:
    """This session on this run. `tokens` (nets.server.accounts.Accounts) says whom a token stands
    for, now, in this `browser` (nets.server.accounts.browser_key): a revoked or expired token, or one
    issued to another browser, stands for nobody. A student: the login's (login mode); the
    token the session holds, else the URL's (class mode); a laptop tab's id, else a new one. Lecturer
    mode: a named login; the lecturer token the session holds (while lecturer mode is on), else the
    URL's (a refresh)."""
    def who(token: str, kind: str) -> str:
        return tokens.session(token, kind, settings, browser) if token and tokens is not None else ""

    token = ""
    if settings.mode == "login":
        identity = login_identity(user)
    elif settings.mode == "class":
        if held.token:
            identity = who(held.token, "student")
            token = held.token if identity else ""
        elif held.identity.startswith("name:"):
            identity = held.identity  # given by the server itself without a token (tests)
        else:
            identity = who(_param(params, TOKEN_PARAM), "student")
            token = _param(params, TOKEN_PARAM) if identity else ""
    else:
        identity = held.identity if held.identity.startswith("anon:") else (
            "anon:" + _param(params, ANON_PARAM) if _ANON.fullmatch(_param(params, ANON_PARAM)) else new_anonymous())

    lecturer, lecturer_token = False, ""
    if named_lecturer(identity, settings):
        lecturer = True
    elif held.lecturer_token:  # ends with the token, or when lecturer mode was switched off
        if held.lecturer and who(held.lecturer_token, "lecturer") == LECTURER:
            lecturer, lecturer_token = True, held.lecturer_token
    elif held.lecturer:
        lecturer = True  # switched on by the server itself without a token (tests)
    elif settings.password and who(_param(params, LECTURER_PARAM), "lecturer") == LECTURER:
        lecturer, lecturer_token = True, _param(params, LECTURER_PARAM)
    return Session(identity, token, lecturer, lecturer_token)


def shown_name(identity: str) -> str:
    """The identity in words, for the sidebar and the runs' owners. A name in Cyrillic or Greek
    letters that could pass for a Latin one says its alphabet."""
    if identity == LECTURER:
        return "the lecturer"
    if identity.startswith("name:"):
        name = identity.removeprefix("name:")
        look = skeleton(name)
        foreign = sorted(scripts(name) & {"CYRILLIC", "GREEK"})
        return f"{name} ({', '.join(f.title() for f in foreign)})" if foreign and look.isascii() else name
    for prefix in ("user:sub:", "user:"):
        if identity.startswith(prefix):
            return identity.removeprefix(prefix)
    return "this tab" if identity.startswith("anon:") else "nobody yet"


def owner_label(owner: str, viewer: str = "") -> str:
    """Whose a run is, as `viewer` (an identity) reads it in a list of runs: a student's name, the
    lecturer, a login; a laptop tab's id is "this tab" only for that very tab, any other tab is "a tab
    without a name" (never "this tab": the lecturer would take a student's run for their own)."""
    if not owner:
        return ""
    if owner.startswith("anon:"):
        return "this tab" if owner == viewer else "a tab without a name"
    return shown_name(owner)
