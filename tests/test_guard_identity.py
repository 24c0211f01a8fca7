"""Issue 19, items 3 and 4, in nets: a login or a class code without a lecturer password no longer opens
everything, names cannot be taken over with the class code alone, URL tokens expire and die at sign-out,
wrong passwords are slowed and logged, and look-alike names are refused. Each test reproduces an attack
from the issue; on the code before the change each failed (most functions here did not exist; the modes
and the old HMAC token, which never expired and survived sign-out, let each attack through)."""
import logging
import secrets

import pytest

from nets.runs.access import Access
from nets.server import accounts as accounts_module
from nets.server import identity as identity_module
from nets.server.accounts import Accounts, browser_key
from nets.server.identity import (
    LECTURER,
    IdentityError,
    Session,
    normalise_name,
    problems,
    report_problems,
    resolve,
    settings_from_secrets,
    shown_name,
    skeleton,
)
from nets.server.throttle import Throttle

AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32, "client_id": "c",
        "client_secret": "c", "server_metadata_url": "https://id.invalid/.well-known/openid-configuration"}
CLASS = settings_from_secrets({"lecturer_password": "a long lecturer pw", "class_code": "owl42"})
ALICES, BOBS = {"owner": "user:alice@uni.edu"}, {"owner": "user:bob@uni.edu"}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(tmp_path, clock):
    return Accounts(tmp_path, clock=clock)


def access_for(settings, session: Session) -> Access:
    """The Access a page builds (pages._identity.access) for this set-up and session."""
    return Access(LECTURER if session.lecturer else session.identity, session.lecturer, not settings.shared)


# ------------------------------------------------------------------------------ modes (item 3)
def test_a_login_without_a_lecturer_password_does_not_open_everything():
    settings = settings_from_secrets({"auth": AUTH})
    student = resolve(settings, Session(), {}, {"is_logged_in": True, "email": "Bob@Uni.edu"})
    bob = access_for(settings, student)
    assert settings.mode == "login" and settings.shared and not bob.single_user and not bob.everything
    assert not bob.can_view(ALICES) and not bob.can_modify(ALICES)  # no Delete on another's run
    assert bob.can_modify(BOBS)
    assert any("no lecturer is named" in p for p in problems(settings))  # and it says so


def test_named_lecturers_log_in_as_lecturers_without_a_password():
    settings = settings_from_secrets({"auth": AUTH, "lecturers": ["Prof@Uni.edu"]})
    prof = resolve(settings, Session(), {}, {"is_logged_in": True, "email": "prof@UNI.edu"})
    student = resolve(settings, Session(), {}, {"is_logged_in": True, "email": "bob@uni.edu"})
    assert prof.lecturer and access_for(settings, prof).can_modify(ALICES)
    assert not student.lecturer and not access_for(settings, student).can_view(ALICES)
    assert problems(settings) == []
    # a subject id with no e-mail is never a named lecturer, even if it reads like one
    sub = resolve(settings, Session(), {}, {"is_logged_in": True, "sub": "prof@uni.edu"})
    assert not sub.lecturer


def test_a_class_code_without_a_password_is_no_laptop_and_says_so():
    settings = settings_from_secrets({"class_code": "owl42"})
    assert settings.mode == "class" and settings.shared
    student = access_for(settings, Session("name:bob"))
    assert not student.single_user and not student.can_view({"owner": "name:alice"})
    assert any("no `lecturer_password`" in p for p in problems(settings))


@pytest.mark.parametrize("secrets, words", [
    ({"auth": {"client_id": "c"}}, "incomplete"),                 # [auth] without redirect_uri / cookie_secret
    ({"lecturer_password": "short", "class_code": "x"}, "shorter than 10"),
    ({"lecturer_password": "a long lecturer pw", "lecturers": ["p@u.edu"]}, "no `[auth]` login"),
    ({"lecturer_password": "a long lecturer pw", "session_hours": "soon"}, "session_hours"),
    ({"auth": AUTH, "lecturers": "p@u.edu, q@u.edu", "lecturer_password": "a long lecturer pw"}, None),
])
def test_unsafe_set_ups_are_named(secrets, words):
    found = problems(settings_from_secrets(secrets))
    assert (found == []) if words is None else any(words in p for p in found), found


def test_only_no_secrets_at_all_is_a_laptop():
    laptop = settings_from_secrets({})
    assert laptop.mode == "laptop" and not laptop.shared and problems(laptop) == []
    for secrets in ({"auth": AUTH}, {"auth": {}}, {"class_code": "x"}, {"lecturer_password": "a long lecturer pw"}):
        assert settings_from_secrets(secrets).shared, secrets


def test_set_up_problems_go_to_the_log_once(caplog, monkeypatch):
    monkeypatch.setattr(identity_module, "_reported", set())  # a fresh server process
    settings = settings_from_secrets({"class_code": "owl42", "lecturer_password": "short-pw"})
    with caplog.at_level(logging.WARNING, logger="nnlab.identity"):
        report_problems(settings)
        report_problems(settings)
    lines = [r.getMessage() for r in caplog.records if r.name == "nnlab.identity"]
    assert len(lines) == 1 and "shorter than" in lines[0] and "short-pw" not in lines[0]


# ------------------------------------------------------------------------------ names (item 4)
def test_the_class_code_alone_does_not_make_anyone_alice(store):
    alice, token = store.sign_in("alice", "owl42", "alice's own words", CLASS)
    for phrase in ("", "owl42", "something else"):
        with pytest.raises(IdentityError):
            store.sign_in("Alice", "owl42", phrase, CLASS)
    assert store.sign_in(" ALICE ", "owl42", "alice's own words", CLASS)[0] == alice
    stored = store._read("SELECT hash FROM accounts")[0][0]
    assert stored.startswith("scrypt$") and "alice's own words" not in stored  # a salted hash only


def test_the_lecturer_resets_a_forgotten_passphrase(store, tmp_path, capsys):
    _, token = store.sign_in("alice", "owl42", "alice's own words", CLASS)
    assert store.reset("Alice")
    assert resolve(CLASS, Session(), {"token": token}, {}, store).identity == ""  # her sessions end
    assert store.sign_in("alice", "owl42", "a new passphrase", CLASS)[0] == "name:alice"
    # and from the command line
    assert accounts_module.main(["reset", "alice", "--checkpoints", str(tmp_path)]) == 0
    assert "new passphrase" in capsys.readouterr().out and store.names() == []


def test_a_cyrillic_alice_is_refused_or_shown_apart(store):
    with pytest.raises(IdentityError, match="one alphabet"):
        normalise_name("\u0430lice")  # Cyrillic а, then Latin "lice": looks exactly like "alice"
    store.sign_in("alice", "owl42", "alice's own words", CLASS)
    all_cyrillic = "\u0430\u04cf\u0456\u0441\u0435"  # а ӏ і с е
    assert skeleton(normalise_name(all_cyrillic)) == "alice"
    with pytest.raises(IdentityError, match="looks exactly like"):
        store.sign_in(all_cyrillic, "owl42", "mallory's words", CLASS)
    with pytest.raises(IdentityError, match="looks exactly like"):
        store.sign_in("a1ice", "owl42", "mallory's words", CLASS)
    assert shown_name("name:" + all_cyrillic).endswith("(Cyrillic)")  # where one exists, it says so
    assert shown_name("name:борис") == "борис" and shown_name("name:alice") == "alice"


# ------------------------------------------------------------------------------ tokens (item 4)
def test_sign_out_revokes_the_url(store):
    _, token = store.sign_in("alice", "owl42", "alice's own words", CLASS)
    url = {"token": token}
    assert resolve(CLASS, Session(), url, {}, store).identity == "name:alice"
    store.revoke(token)  # Sign out
    assert resolve(CLASS, Session(), url, {}, store) == Session()
    # a tab that still holds the revoked token is signed out on its next run too
    assert resolve(CLASS, Session("name:alice", token), {}, {}, store) == Session()


def test_tokens_expire(store, clock):
    settings = settings_from_secrets({"lecturer_password": "a long lecturer pw", "class_code": "owl42",
                                      "session_hours": 2})
    _, token = store.sign_in("alice", "owl42", "alice's own words", settings)
    clock.now += 2 * 3600 - 1
    assert resolve(settings, Session(), {"token": token}, {}, store).identity == "name:alice"
    clock.now += 2
    assert resolve(settings, Session(), {"token": token}, {}, store).identity == ""
    assert resolve(settings, Session("name:alice", token), {}, {}, store).identity == ""


def test_tokens_are_random_not_a_signature_of_the_name(store):
    tokens = {store.sign_in("alice", "owl42", "alice's own words", CLASS)[1] for _ in range(3)}
    assert len(tokens) == 3 and all(len(t) >= 32 for t in tokens)
    assert all(t not in open(store.path, "rb").read().decode("latin-1") for t in tokens)  # only digests kept


def xsrf_cookie(raw: bytes) -> str:
    """Streamlit's XSRF cookie for these 16 bytes, masked afresh as on every page load."""
    mask = secrets.token_bytes(4)
    return f"2|{mask.hex()}|{bytes(b ^ mask[i % 4] for i, b in enumerate(raw)).hex()}|1700000000"


def test_a_copied_address_opens_nothing_in_another_browser(store):
    mine, theirs = secrets.token_bytes(16), secrets.token_bytes(16)
    here = browser_key({"_streamlit_xsrf": xsrf_cookie(mine)})
    assert here and here == browser_key({"_streamlit_xsrf": xsrf_cookie(mine)})  # the same after a reload
    there = browser_key({"_streamlit_xsrf": xsrf_cookie(theirs)})
    assert there != here and browser_key({}) == "" and browser_key({"_streamlit_xsrf": "2|zz|x|1"}) == ""
    _, token = store.sign_in("alice", "owl42", "alice's own words", CLASS, here)
    lecturer = store.lecturer_sign_in("a long lecturer pw", CLASS, here)
    url = {"token": token, "lecturer": lecturer}  # projected, pasted, or in a chat
    assert resolve(CLASS, Session(), url, {}, store, here) == Session("name:alice", token, True, lecturer)
    for elsewhere in (there, ""):
        assert resolve(CLASS, Session(), url, {}, store, elsewhere) == Session()


def test_lecturer_mode_survives_a_refresh_and_ends_when_left(store, clock):
    token = store.lecturer_sign_in("a long lecturer pw", CLASS)
    refreshed = resolve(CLASS, Session(), {"lecturer": token}, {}, store)
    assert refreshed.lecturer and refreshed.lecturer_token == token
    assert not resolve(CLASS, Session(), {"token": token}, {}, store).identity  # not a student's token
    store.revoke(token)  # Leave lecturer mode
    assert not resolve(CLASS, Session(), {"lecturer": token}, {}, store).lecturer
    assert not resolve(CLASS, Session(lecturer=True, lecturer_token=token), {}, {}, store).lecturer
    token = store.lecturer_sign_in("a long lecturer pw", CLASS)
    clock.now += CLASS.session_hours * 3600 + 1
    assert not resolve(CLASS, Session(), {"lecturer": token}, {}, store).lecturer


# ------------------------------------------------------------------------------ wrong tries (item 4)
def test_thirty_wrong_lecturer_passwords_are_throttled_and_logged(store, clock, caplog):
    waited = 0.0
    with caplog.at_level(logging.INFO, logger="nnlab.identity"):
        for _ in range(30):  # an attacker who waits exactly as long as each refusal says
            waited += store.throttle.wait(LECTURER)
            clock.now += store.throttle.wait(LECTURER)
            with pytest.raises(IdentityError, match="not right"):
                store.lecturer_sign_in("guess", CLASS)
        # straight after the 30th, even the right password is refused
        with pytest.raises(IdentityError, match="Too many wrong tries"):
            store.lecturer_sign_in("a long lecturer pw", CLASS)
    assert waited > 3600  # 30 tries took 3.1 s before; now more than an hour of waiting
    wrong = [r.getMessage() for r in caplog.records if "Wrong lecturer password" in r.getMessage()]
    assert len(wrong) == 30 and not any("guess" in r.getMessage() or "a long lecturer pw" in r.getMessage()
                                        for r in caplog.records)
    clock.now += store.throttle.wait(LECTURER)
    assert store.lecturer_sign_in("a long lecturer pw", CLASS)  # once the wait is over, the right one works


def test_wrong_passphrases_and_class_codes_are_throttled_per_name(store, clock):
    store.sign_in("alice", "owl42", "alice's own words", CLASS)
    for i in range(6):
        with pytest.raises(IdentityError):
            store.sign_in("alice", "owl41" if i % 2 else "owl42", "guess", CLASS)
    with pytest.raises(IdentityError, match="Too many wrong tries"):
        store.sign_in("alice", "owl42", "alice's own words", CLASS)
    assert store.sign_in("bob", "owl42", "bob's own words", CLASS)[0] == "name:bob"  # others are not held up


def test_the_throttle_grows_and_forgets():
    clock = Clock(0.0)
    guard = Throttle(free=2, first_wait=1.0, longest=8.0, forget=100.0, clock=clock)
    assert [guard.failed("x")[1] for _ in range(7)] == [0, 0, 1, 2, 4, 8, 8]
    assert guard.wait("x") == 8 and guard.wait("y") == 0
    clock.now += 8
    assert guard.wait("x") == 0 and guard.failures("x") == 7
    clock.now += 101
    assert guard.failures("x") == 0  # left alone long enough: starts afresh
    guard.failed("x")
    guard.succeeded("x")
    assert guard.failures("x") == 0


# ------------------------------------------------------------------------------ several sessions at once
def test_many_sign_ins_at_once_share_the_file_safely(tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    stores = [Accounts(tmp_path) for _ in range(4)]  # like the server and the command line: separate handles

    def first_sign_in(i):
        try:  # two people race for the new name "carol", with different passphrases
            return stores[i % 4].sign_in("carol" if i < 2 else f"student {i}", "owl42", f"passphrase {i}", CLASS)[0]
        except IdentityError as e:
            return str(e)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(first_sign_in, range(10)))
    assert sorted(stores[0].names()) == sorted(["carol", *(f"student {i}" for i in range(2, 10))])
    assert results[:2].count("name:carol") == 1 and any("not right" in r for r in results[:2])  # one wins


def test_the_command_line_lists_and_resets(tmp_path, capsys):
    from nets.__main__ import main as nets_main
    Accounts(tmp_path).sign_in("alice", "owl42", "alice's own words", CLASS)
    assert nets_main(["accounts", "list", "--checkpoints", str(tmp_path)]) == 0
    assert capsys.readouterr().out.split() == ["alice"]
    assert nets_main(["accounts", "reset", "Nobody", "--checkpoints", str(tmp_path)]) == 0
    assert "nothing to reset" in capsys.readouterr().out


def test_an_unusable_accounts_file_signs_nobody_in_with_a_plain_message(tmp_path, caplog):
    blocker = tmp_path / "not a folder"
    blocker.write_text("")
    store = Accounts(blocker)  # the accounts file would go inside a regular file
    with caplog.at_level(logging.ERROR, logger="nnlab.identity"):
        with pytest.raises(IdentityError, match="tell your lecturer") as refused:
            store.sign_in("alice", "owl42", "alice's own words", CLASS)
        assert resolve(CLASS, Session(), {"token": "x" * 32}, {}, store) == Session()
        store.revoke("x" * 32)
    assert "cannot be used" in caplog.text and str(tmp_path) not in str(refused.value)  # the path: log only
