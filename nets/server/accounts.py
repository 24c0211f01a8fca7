"""Sign-ins on a shared server: students' personal passphrases, session tokens, the lecturer's password tries.

The scheme (class mode; a login server uses only the lecturer's part):
- Passphrases. The first sign-in with a name (and the right class code) sets that name's personal
  passphrase; every later sign-in with the name needs it, so knowing the class code is not enough to
  become "alice". The file keeps a salted scrypt hash (n=2**14, r=8, p=1, a random 16-byte salt per
  account), compared in constant time. A forgotten passphrase is reset by the lecturer (the sidebar in
  lecturer mode, or `python -m nets accounts reset NAME`): the name's sessions end and its next
  sign-in sets a new passphrase. A new name whose look-alike skeleton (nets.server.identity.skeleton)
  equals an existing account's is refused.
- Tokens. A sign-in (a student's, or the lecturer's password) gets a random 192-bit token for the URL,
  so a refresh or a new page finds the session again. The file keeps only the token's SHA-256, whom it
  stands for and its expiry (`session_hours` in the secrets, default 12). Sign out and leaving lecturer
  mode revoke it; an expired or revoked token stands for nobody. Tokens are bound to the server's
  secrets (a new lecturer_password or class_code ends every session) and to the browser that signed
  in (browser_key: Streamlit's XSRF cookie), so an address copied from a projected screen, a pasted
  link or a chat opens nobody's session in another browser.
- Wrong tries. Wrong class codes, passphrases and lecturer passwords count per target (the name, or
  "lecturer") in a nets.server.throttle.Throttle: past a few, the target closes for longer and longer,
  and every failure is logged to "nnlab.identity" (never what was typed).
The file is <checkpoints>/.accounts.sqlite (owner-only permissions): SQLite with a busy timeout and
immediate transactions, so the server and the command line can share it; each change is atomic.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import logging
import os
import secrets
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from threading import Lock

from nets.files import in_transaction
from nets.server.identity import LECTURER, IdentityError, Settings, normalise_name, skeleton, student_identity
from nets.server.throttle import Throttle

FILE = ".accounts.sqlite"
MIN_PASSPHRASE, MAX_PASSPHRASE = 6, 200
_SCRYPT = dict(n=2 ** 14, r=8, p=1, dklen=32)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (name TEXT PRIMARY KEY, skeleton TEXT NOT NULL, hash TEXT NOT NULL,
                                     created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS accounts_by_skeleton ON accounts (skeleton);
CREATE TABLE IF NOT EXISTS tokens (digest TEXT PRIMARY KEY, identity TEXT NOT NULL, kind TEXT NOT NULL,
                                   bound TEXT NOT NULL, expires REAL NOT NULL);
CREATE INDEX IF NOT EXISTS tokens_by_identity ON tokens (identity);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
log = logging.getLogger("nnlab.identity")


def hash_passphrase(passphrase: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(passphrase.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def passphrase_matches(passphrase: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        given = hashlib.scrypt(passphrase.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                               dklen=len(digest) // 2)
    except (ValueError, TypeError):
        return False
    return kind == "scrypt" and hmac.compare_digest(given.hex(), digest)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


XSRF_COOKIE = "_streamlit_xsrf"


def browser_key(cookies) -> str:
    """A fingerprint of this browser, '' when there is none (XSRF protection off, AppTest). Streamlit's
    XSRF cookie holds 16 random bytes per browser; every page load masks them afresh ("2|mask|masked|
    time"), so the bytes, not the cookie's text, stay the same across refreshes and tabs."""
    value = str(cookies.get(XSRF_COOKIE) or "").strip("\"'")
    try:
        if value.startswith("2|"):
            _, mask_hex, masked_hex, _ = value.split("|")
            mask, masked = bytes.fromhex(mask_hex), bytes.fromhex(masked_hex)
            raw = bytes(b ^ mask[i % len(mask)] for i, b in enumerate(masked)) if mask else b""
        else:
            raw = bytes.fromhex(value)
    except ValueError:
        return ""
    return hashlib.sha256(b"nnlab-browser\0" + raw).hexdigest()[:32] if raw else ""


class Accounts:
    """The accounts file of one checkpoints folder, and the throttle on wrong tries (in memory)."""

    def __init__(self, root, clock=None, throttle: Throttle | None = None):
        self.path = Path(root) / FILE
        self.clock = clock or (lambda: time.time())  # looked up at each call: a test may stop it
        self.throttle = throttle or Throttle(clock=self.clock)
        self._ready, self._lock, self._bindings, self._broken = False, Lock(), {}, False

    # ------------------------------------------------------------------ the file
    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
                    with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
                        db.executescript(_SCHEMA)
                    self._ready = True
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 30000")
        return db

    def _write(self, work):
        try:
            with closing(self._connect()) as db, in_transaction(db):
                return work(db)
        except (OSError, sqlite3.Error) as e:
            raise self._unusable(e) from None

    def _read(self, sql: str, args=()) -> list:
        try:
            with closing(self._connect()) as db:
                return db.execute(sql, args).fetchall()
        except (OSError, sqlite3.Error) as e:
            raise self._unusable(e) from None

    def _unusable(self, error: Exception) -> IdentityError:
        """An unwritable or broken accounts file: the server log says why (once), the page says only this."""
        if not self._broken:
            self._broken = True
            log.error("The accounts file %s cannot be used: %s: %s", self.path, type(error).__name__, error)
        return IdentityError("Signing in does not work on this server right now: tell your lecturer.")

    def _bound(self, settings: Settings, browser: str) -> str:
        return hashlib.sha256(f"{self._binding(settings)}\0{browser}".encode()).hexdigest()[:32]

    def _binding(self, settings: Settings) -> str:
        """A slow fingerprint of the server's secrets (keyed by a random salt kept in the file), so
        tokens die with a changed password or class code and the file reveals neither."""
        key = (settings.password, settings.class_code)
        if key not in self._bindings:
            def salt(db):
                row = db.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()
                if row is None:
                    row = (secrets.token_hex(16),)
                    db.execute("INSERT INTO meta VALUES ('salt', ?)", row)
                return row[0]
            secret = f"{settings.password}\0{settings.class_code}".encode()
            salted = hashlib.pbkdf2_hmac("sha256", secret, bytes.fromhex(self._write(salt)), 100_000)
            self._bindings[key] = salted.hex()[:32]
        return self._bindings[key]

    # ------------------------------------------------------------------ tokens
    def issue(self, identity: str, kind: str, settings: Settings, browser: str = "") -> str:
        token, now = secrets.token_urlsafe(24), self.clock()
        bound = self._bound(settings, browser)

        def work(db):
            db.execute("DELETE FROM tokens WHERE expires <= ?", (now,))
            db.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?)",
                       (_digest(token), identity, kind, bound, now + settings.session_hours * 3600))
        self._write(work)
        return token

    def session(self, token: str, kind: str, settings: Settings, browser: str = "") -> str:
        """Whom `token` stands for now, in this browser ('' when it is unknown, revoked, expired, of
        another kind, or was issued to another browser or under other secrets)."""
        if not token or len(token) > 100:
            return ""
        try:
            rows = self._read("SELECT identity, kind, bound, expires FROM tokens WHERE digest = ?", (_digest(token),))
            if not rows:
                return ""
            bound_here = self._bound(settings, browser)
        except IdentityError:  # an unusable file signs nobody in; the page carries on
            return ""
        identity, found_kind, bound, expires = rows[0]
        ok = (found_kind == kind and expires > self.clock()
              and hmac.compare_digest(bound, bound_here))
        return identity if ok else ""

    def revoke(self, token: str) -> None:
        if token:
            try:
                self._write(lambda db: db.execute("DELETE FROM tokens WHERE digest = ?", (_digest(token),)))
            except IdentityError:  # an unusable file: no token of it stands for anyone anyway
                pass

    # ------------------------------------------------------------------ signing in
    def _refuse(self, target: str, what: str, message: str) -> IdentityError:
        failures, wait = self.throttle.failed(target)
        log.warning("Wrong %s for %s (%d in a row%s)", what, target, failures,
                    f"; closed for {wait:.0f} s" if wait else "")
        return IdentityError(message)

    def _closed(self, target: str) -> None:
        wait = self.throttle.wait(target)
        if wait > 0:
            log.warning("Refused a try for %s: closed for %.0f more s after wrong tries", target, wait)
            raise IdentityError(f"Too many wrong tries: wait {max(1, round(wait))} s and try again.")

    def sign_in(self, name: str, code: str, passphrase: str, settings: Settings,
                browser: str = "") -> tuple[str, str]:
        """(identity, token) for a student on a classroom server; IdentityError says why not."""
        identity = "name:" + normalise_name(name)
        self._closed(identity)
        try:
            student_identity(name, code, settings)
        except IdentityError as e:
            raise self._refuse(identity, "class code", str(e)) from None
        passphrase = str(passphrase or "")
        if not passphrase:
            raise IdentityError("Type your passphrase (the first time with this name: choose one).")
        if len(passphrase) > MAX_PASSPHRASE:
            raise IdentityError(f"A passphrase has at most {MAX_PASSPHRASE} characters.")
        name = identity.removeprefix("name:")
        stored = self._read("SELECT hash FROM accounts WHERE name = ?", (name,))
        if not stored:
            stored = self._create(name, passphrase)
        if not passphrase_matches(passphrase, stored[0][0]):
            raise self._refuse(identity, "passphrase", "That passphrase is not right for this name. "
                                                      "Forgot it? Your lecturer can reset it.")
        self.throttle.succeeded(identity)
        return identity, self.issue(identity, "student", settings, browser)

    def _create(self, name: str, passphrase: str) -> list:
        if len(passphrase) < MIN_PASSPHRASE:
            raise IdentityError(f"This name is new: choose a passphrase of at least {MIN_PASSPHRASE} characters "
                                "(you will need it to sign in again).")
        look, hashed = skeleton(name), hash_passphrase(passphrase)

        def work(db):
            taken = db.execute("SELECT hash FROM accounts WHERE name = ?", (name,)).fetchall()
            if taken:  # another tab created it meanwhile: check against that one
                return taken
            if db.execute("SELECT 1 FROM accounts WHERE skeleton = ? AND name <> ?", (look, name)).fetchone():
                raise IdentityError("That name looks exactly like another student's: add your surname or an initial.")
            db.execute("INSERT INTO accounts VALUES (?, ?, ?, ?)", (name, look, hashed, self.clock()))
            log.info("New account %s", name)
            return [(hashed,)]
        return self._write(work)

    def lecturer_sign_in(self, given: str, settings: Settings, browser: str = "") -> str:
        """A lecturer token for the right lecturer_password; IdentityError says why not."""
        self._closed(LECTURER)
        expected = settings.password
        if not expected or not hmac.compare_digest(str(given or "").encode(), expected.encode()):
            raise self._refuse(LECTURER, "lecturer password", "That password is not right.")
        self.throttle.succeeded(LECTURER)
        return self.issue(LECTURER, "lecturer", settings, browser)

    # ------------------------------------------------------------------ the lecturer's
    def names(self) -> list[str]:
        return [r[0] for r in self._read("SELECT name FROM accounts ORDER BY name")]

    def reset(self, name: str) -> bool:
        """Forget the name's passphrase and end its sessions; its next sign-in sets a new one.
        False when the name has no account."""
        normal = normalise_name(name)

        def work(db):
            db.execute("DELETE FROM tokens WHERE identity = ?", ("name:" + normal,))
            return db.execute("DELETE FROM accounts WHERE name = ?", (normal,)).rowcount > 0
        done = self._write(work)
        self.throttle.succeeded("name:" + normal)
        if done:
            log.warning("Passphrase of %s reset by the lecturer", normal)
        return done


def main(argv=None) -> int:
    """python -m nets accounts list|reset NAME: the classroom server's student accounts."""
    from nets import settings as environment
    p = argparse.ArgumentParser(prog="python -m nets accounts", description="The classroom server's student "
                                "accounts: list them, or reset one's passphrase.")
    p.add_argument("command", choices=["list", "reset"])
    p.add_argument("name", nargs="?", help="reset: the student's name, as they type it")
    p.add_argument("--checkpoints", default=str(environment.get("NNLAB_CHECKPOINTS")),
                   help="the runs folder that holds the accounts file (default: %(default)s)")
    a = p.parse_args(argv)
    accounts = Accounts(a.checkpoints)
    if a.command == "list":
        for name in accounts.names():
            print(name)
        return 0
    if not a.name:
        p.error("reset needs the student's name")
    try:
        done = accounts.reset(a.name)
    except IdentityError as e:
        print(e)
        return 2
    print(f"Reset: {a.name!r} sets a new passphrase at the next sign-in." if done
          else f"No account is called {a.name!r}; nothing to reset.")
    return 0
