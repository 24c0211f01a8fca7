"""Who is using the app: an identity that lasts across a refresh, a page switch and a new tab.

Three set-ups, chosen by the server's Streamlit secrets:
- login: Streamlit's built-in login (an [auth] section): the identity is the logged-in account.
- class: a lecturer password and no login: students sign in with their name (and the class code the
  lecturer sets, when there is one). The same name is the same student, in any tab. A refresh keeps
  it through the URL: the name and a token only the server can make (an HMAC keyed by the server's
  secrets), so editing the URL cannot make anyone into someone else.
- laptop: no password: a random id kept in the URL. It only keeps a tab's jobs its own; runs are open.
Identities carry a prefix ("user:", "name:", "anon:"), so one kind can never equal another, and
none can equal LECTURER.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

LECTURER = "lecturer"
ANON_PARAM, NAME_PARAM, TOKEN_PARAM = "me", "student", "token"
URL_PARAMS = frozenset({ANON_PARAM, NAME_PARAM, TOKEN_PARAM})  # not part of a lesson link
MAX_NAME = 40
_NAME_CHARS = re.compile(r"[\w .'\-]+")        # letters of any alphabet, digits, space . ' - _
_ANON = re.compile(r"[0-9a-f]{32}")


class IdentityError(ValueError):
    """A name or class code that cannot be used, with the reason in words."""


@dataclass(frozen=True)
class Settings:
    password: str = ""        # the lecturer's password; none: a single laptop
    class_code: str = ""      # what students type with their name; none: the name alone
    providers: tuple = ()     # Streamlit login providers (None: the unnamed default); (): no login

    @property
    def mode(self) -> str:
        return "login" if self.providers else "class" if self.password else "laptop"


def login_providers(auth: Mapping | None) -> tuple:
    """The providers an [auth] secrets section configures: None for settings at its top level, and
    the name of each [auth.<name>] section. Needs the shared redirect_uri and cookie_secret."""
    if not isinstance(auth, Mapping) or not auth.get("redirect_uri") or not auth.get("cookie_secret"):
        return ()
    named = tuple(str(k) for k, v in auth.items() if isinstance(v, Mapping) and v.get("client_id"))
    return ((None,) if auth.get("client_id") else ()) + named


# ------------------------------------------------------------------------------ a student's name
def normalise_name(text: str) -> str:
    """The name as an identity uses it: same letters, any case, any spacing, give the same name."""
    name = " ".join(unicodedata.normalize("NFKC", str(text or "")).split()).casefold()
    if not name:
        raise IdentityError("Type your name.")
    if len(name) > MAX_NAME:
        raise IdentityError(f"A name has at most {MAX_NAME} characters.")
    if not _NAME_CHARS.fullmatch(name) or not any(c.isalnum() for c in name):
        raise IdentityError("A name has letters, digits, spaces, dots, hyphens and apostrophes only.")
    return name


def student_identity(name: str, code: str, settings: Settings) -> str:
    """'name:<normalised name>' once the class code (when the lecturer set one) is right."""
    normal = normalise_name(name)
    if settings.class_code and not hmac.compare_digest(str(code or "").strip().encode(),
                                                      settings.class_code.strip().encode()):
        raise IdentityError("That class code is not right: ask your lecturer.")
    return "name:" + normal


def _token(identity: str, settings: Settings) -> str:
    """Proof that this server signed `identity` in: an HMAC keyed by the lecturer's password and the
    class code, so it cannot be made without them, and changing either signs everyone out."""
    key = hmac.new(settings.password.encode(), b"nnlab-identity\0" + settings.class_code.encode(),
                   hashlib.sha256).digest()
    return hmac.new(key, identity.encode(), hashlib.sha256).hexdigest()[:32]


# ------------------------------------------------------------------------------ the URL
def url_params(identity: str, settings: Settings) -> dict[str, str]:
    """What the URL keeps so that a refresh finds the same identity ({} when nothing may be kept:
    the lecturer, whose screen the room sees, and a logged-in account, which has its own cookie)."""
    if settings.mode == "class" and identity.startswith("name:"):
        return {NAME_PARAM: identity.removeprefix("name:"), TOKEN_PARAM: _token(identity, settings)}
    if settings.mode == "laptop" and identity.startswith("anon:"):
        return {ANON_PARAM: identity.removeprefix("anon:")}
    return {}


def from_url(params: Mapping, settings: Settings) -> str:
    """The identity a URL carries, or '' when it carries none this server accepts: a name needs the
    token this server made for it, and an anonymous id counts only on a laptop."""
    def one(key: str) -> str:
        value = params.get(key, "")
        return str(value[-1] if isinstance(value, (list, tuple)) and value else value or "")

    if settings.mode == "class" and one(NAME_PARAM):
        try:
            identity = "name:" + normalise_name(one(NAME_PARAM))
        except IdentityError:
            return ""
        return identity if hmac.compare_digest(one(TOKEN_PARAM).encode(), _token(identity, settings).encode()) else ""
    if settings.mode == "laptop" and _ANON.fullmatch(one(ANON_PARAM)):
        return "anon:" + one(ANON_PARAM)
    return ""


def new_anonymous() -> str:
    """A fresh random id for a laptop's tab: 128 bits, so no one guesses another tab's."""
    return "anon:" + secrets.token_hex(16)


# ------------------------------------------------------------------------------ a login
def login_identity(user: Mapping) -> str:
    """'user:<email>' (or the provider's subject id) for a logged-in account; '' otherwise."""
    if user.get("is_logged_in") is not True:
        return ""
    email, sub = str(user.get("email") or "").strip().lower(), str(user.get("sub") or "").strip()
    return "user:" + email if email else "user:sub:" + sub if sub else ""


def resolve(settings: Settings, held: str, params: Mapping, user: Mapping) -> str:
    """This session's identity on this run: the login's in login mode; otherwise the one the session
    already holds, if this mode accepts it, else the URL's, else (on a laptop) a new one."""
    if settings.mode == "login":
        return login_identity(user)
    if settings.mode == "class":
        return held if held.startswith("name:") else from_url(params, settings)
    return held if held.startswith("anon:") else from_url(params, settings) or new_anonymous()


def shown_name(identity: str) -> str:
    """The identity in words, for the sidebar."""
    if identity == LECTURER:
        return "the lecturer"
    for prefix in ("name:", "user:sub:", "user:"):
        if identity.startswith(prefix):
            return identity.removeprefix(prefix)
    return "this tab" if identity.startswith("anon:") else "nobody yet"
