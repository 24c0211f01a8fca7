import pytest

from nets.runs.access import Access
from nets.server.accounts import Accounts
from nets.server.identity import (
    LECTURER,
    IdentityError,
    Session,
    Settings,
    login_identity,
    login_providers,
    new_anonymous,
    normalise_name,
    resolve,
    shown_name,
    student_identity,
    url_params,
)
from nets.link.codec import is_lesson, signature
from nets.link.train import decode

CLASS = Settings(password="lecturer-pw", class_code="owl42")
OPEN_CLASS = Settings(password="lecturer-pw")          # a class with no code: the name alone
LAPTOP = Settings()
AUTH = {"redirect_uri": "http://x/oauth2callback", "cookie_secret": "s", "client_id": "c",
        "client_secret": "c", "server_metadata_url": "https://x/.well-known/openid-configuration"}


def test_modes_follow_the_secrets():
    assert LAPTOP.mode == "laptop" and CLASS.mode == "class"
    assert Settings(class_code="owl42").mode == "class" and Settings(auth=True).mode == "login"
    assert not LAPTOP.shared and CLASS.shared and Settings(class_code="owl42").shared
    assert Settings(providers=(None,)).mode == "login" and Settings("pw", providers=("google",)).mode == "login"


def test_login_providers_read_the_auth_section():
    assert login_providers(AUTH) == (None,)
    named = {"redirect_uri": "u", "cookie_secret": "s", "google": {"client_id": "g"}, "okta": {"client_id": "o"}}
    assert login_providers(named) == ("google", "okta")
    assert login_providers({**AUTH, "client_kwargs": {"prompt": "login"}}) == (None,)  # not a provider
    assert login_providers(None) == () and login_providers({}) == ()
    assert login_providers({"client_id": "c"}) == ()  # no redirect_uri or cookie_secret: st.login would fail


def test_the_same_name_is_the_same_student_however_typed():
    assert normalise_name("  Alice   Smith ") == normalise_name("alice smith") == "alice smith"
    assert normalise_name("ＡＬＩＣＥ") == "alice"  # full-width letters
    assert student_identity("Alice", "owl42", CLASS) == student_identity(" alice ", " owl42 ", CLASS) == "name:alice"
    assert normalise_name("Zoë O'Neil-Brown") == "zoë o'neil-brown"


@pytest.mark.parametrize("bad", ["", "   ", "a" * 41, "<script>", "alice\x00", "...", "bob/../x"])
def test_unusable_names_are_refused_in_words(bad):
    with pytest.raises(IdentityError) as e:
        normalise_name(bad)
    assert str(e.value)


def test_a_class_code_is_needed_when_the_lecturer_set_one():
    with pytest.raises(IdentityError, match="class code"):
        student_identity("alice", "", CLASS)
    with pytest.raises(IdentityError, match="class code"):
        student_identity("alice", "owl41", CLASS)
    assert student_identity("alice", "", OPEN_CLASS) == "name:alice"


def accounts(tmp_path, clock=None) -> Accounts:
    return Accounts(tmp_path, **({"clock": clock} if clock else {}))


def test_a_refresh_keeps_a_student_through_the_url(tmp_path):
    store = accounts(tmp_path)
    alice, token = store.sign_in("Alice", "owl42", "alice-phrase", CLASS)
    params = url_params(Session(alice, token), CLASS)
    assert params == {"token": token} and len(token) >= 32  # a random token, not the name
    assert resolve(CLASS, Session(), params, {}, store).identity == "name:alice"
    assert resolve(CLASS, Session(), {"token": [token]}, {}, store).identity == "name:alice"  # AppTest's lists


def test_the_url_cannot_make_anyone_into_someone_else(tmp_path):
    store = accounts(tmp_path)
    _, token = store.sign_in("alice", "owl42", "alice-phrase", CLASS)

    def who(params, settings=CLASS):
        return resolve(settings, Session(), params, {}, store).identity
    assert who({"student": "bob", "token": token}) == "name:alice"   # the token decides, not the name
    assert who({"student": "alice"}) == ""                            # no token
    assert who({"token": "0" * 32}) == ""                             # a made-up token
    assert who({"me": "0" * 32}) == ""                                # a laptop id in a classroom
    # tokens are bound to the server's secrets: another password or class code does not accept them
    assert who({"token": token}, Settings("other-pw", "owl42")) == ""
    assert who({"token": token}, Settings("lecturer-pw", "owl43")) == ""
    assert who({"token": token}, LAPTOP).startswith("anon:")
    assert url_params(Session(LECTURER, lecturer=True), CLASS) == {}  # no token, nothing kept


def test_a_laptop_tab_keeps_a_random_id():
    me = new_anonymous()
    assert me.startswith("anon:") and me != new_anonymous()
    assert resolve(LAPTOP, Session(), url_params(Session(me), LAPTOP), {}).identity == me
    assert resolve(LAPTOP, Session(), {"me": "not-hex"}, {}).identity != "anon:not-hex"
    assert url_params(Session(me), CLASS) == {}


def test_a_login_is_the_account():
    assert login_identity({"is_logged_in": True, "email": "Ada@Uni.EDU", "sub": "123"}) == "user:ada@uni.edu"
    assert login_identity({"is_logged_in": True, "sub": "123"}) == "user:sub:123"
    assert login_identity({"is_logged_in": False, "email": "ada@uni.edu"}) == ""
    assert login_identity({"email": "test@example.com"}) == ""  # AppTest's default user, no login


def test_resolve_in_each_mode(tmp_path):
    store = accounts(tmp_path)
    login = Settings("pw", providers=(None,))
    _, bobs = store.sign_in("bob", "owl42", "bob-phrase", CLASS)
    assert resolve(login, Session("name:alice"), {}, {"is_logged_in": True, "email": "a@b.c"}).identity == "user:a@b.c"
    assert resolve(login, Session("name:alice"), {"token": bobs}, {}, store).identity == ""  # logged out: nobody
    assert resolve(CLASS, Session("name:alice"), {}, {}, store).identity == "name:alice"       # the session holds it
    assert resolve(CLASS, Session(), {"token": bobs}, {}, store) == Session("name:bob", bobs)  # a refresh
    assert resolve(CLASS, Session(), {}, {}, store) == Session()
    assert resolve(CLASS, Session("anon:" + "0" * 32), {}, {}, store).identity == ""
    me = "anon:" + "a" * 32
    assert resolve(LAPTOP, Session(me), {}, {}).identity == me
    assert resolve(LAPTOP, Session(), {"me": "a" * 32}, {}).identity == me
    assert resolve(LAPTOP, Session(), {}, {}).identity.startswith("anon:")


def test_kinds_of_identity_never_collide():
    # a student who types "lecturer" is not the lecturer, and no name equals a login or a laptop id
    assert student_identity("lecturer", "owl42", CLASS) != LECTURER
    assert shown_name("name:alice") == "alice" and shown_name(LECTURER) == "the lecturer"
    assert shown_name("user:ada@uni.edu") == "ada@uni.edu" and shown_name("") == "nobody yet"


def test_students_jobs_and_runs_follow_their_identity(tmp_path):
    store = accounts(tmp_path)
    alice = Access(student_identity("Alice", "owl42", CLASS), lecturer=False, single_user=False)
    _, token = store.sign_in("alice", "owl42", "alice-phrase", CLASS)
    again = Access(resolve(CLASS, Session(), {"token": token}, {}, store).identity, lecturer=False, single_user=False)
    bob = Access("name:bob", lecturer=False, single_user=False)
    nobody = Access("", lecturer=False, single_user=False)  # has not signed in
    run = {"owner": "name:alice"}
    assert alice.can_modify(run) and again.can_modify(run) and again.can_control_job("name:alice")
    assert not bob.can_view(run) and not bob.can_control_job("name:alice")
    assert not nobody.can_view(run) and not nobody.can_control_job("name:alice") and not nobody.can_control_job("")
    assert nobody.can_view({}) and nobody.can_view({"owner": "name:alice", "shared": True})


def test_identity_parameters_are_not_lesson_settings():
    params = {"lesson": "1", "lr": "0.1", "student": "alice", "token": "f" * 32, "me": "a" * 32, "job": "x"}
    assert is_lesson(params) and decode(params).problems == []
    assert signature(params) == signature({"lesson": "1", "lr": "0.1"})
