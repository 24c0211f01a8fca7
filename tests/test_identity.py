import pytest

from nets.runs.access import Access
from nets.server.identity import (
    LECTURER,
    IdentityError,
    Settings,
    from_url,
    login_identity,
    login_providers,
    new_anonymous,
    normalise_name,
    resolve,
    shown_name,
    student_identity,
    url_params,
)
from nets.server.lessons import decode, is_lesson, signature

CLASS = Settings(password="lecturer-pw", class_code="owl42")
OPEN_CLASS = Settings(password="lecturer-pw")          # a class with no code: the name alone
LAPTOP = Settings()
AUTH = {"redirect_uri": "http://x/oauth2callback", "cookie_secret": "s", "client_id": "c",
        "client_secret": "c", "server_metadata_url": "https://x/.well-known/openid-configuration"}


def test_modes_follow_the_secrets():
    assert LAPTOP.mode == "laptop" and CLASS.mode == "class"
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


def test_a_refresh_keeps_a_student_through_the_url():
    params = url_params("name:alice", CLASS)
    assert params["student"] == "alice" and len(params["token"]) == 32
    assert from_url(params, CLASS) == "name:alice"
    assert from_url({"student": ["Alice"], "token": [params["token"]]}, CLASS) == "name:alice"  # AppTest's lists


def test_the_url_cannot_make_anyone_into_someone_else():
    alice = url_params("name:alice", CLASS)
    assert from_url({"student": "bob", "token": alice["token"]}, CLASS) == ""       # another name, same token
    assert from_url({"student": "alice"}, CLASS) == ""                              # no token
    assert from_url({"student": "alice", "token": "0" * 32}, CLASS) == ""           # a made-up token
    assert from_url({"me": "0" * 32}, CLASS) == ""                                  # a laptop id in a classroom
    # the token is keyed by the server's secrets: another password or class code does not accept it
    assert from_url(alice, Settings("other-pw", "owl42")) == ""
    assert from_url(alice, Settings("lecturer-pw", "owl43")) == ""
    assert from_url(alice, LAPTOP) == ""
    assert url_params(LECTURER, CLASS) == {}  # the lecturer's screen is projected: nothing in the URL


def test_a_laptop_tab_keeps_a_random_id():
    me = new_anonymous()
    assert me.startswith("anon:") and me != new_anonymous()
    assert from_url(url_params(me, LAPTOP), LAPTOP) == me
    assert from_url({"me": "not-hex"}, LAPTOP) == "" and from_url({"student": "alice", "token": "x"}, LAPTOP) == ""
    assert url_params(me, CLASS) == {}


def test_a_login_is_the_account():
    assert login_identity({"is_logged_in": True, "email": "Ada@Uni.EDU", "sub": "123"}) == "user:ada@uni.edu"
    assert login_identity({"is_logged_in": True, "sub": "123"}) == "user:sub:123"
    assert login_identity({"is_logged_in": False, "email": "ada@uni.edu"}) == ""
    assert login_identity({"email": "test@example.com"}) == ""  # AppTest's default user, no login


def test_resolve_in_each_mode():
    login = Settings("pw", providers=(None,))
    assert resolve(login, "name:alice", {}, {"is_logged_in": True, "email": "a@b.c"}) == "user:a@b.c"
    assert resolve(login, "name:alice", url_params("name:alice", CLASS), {}) == ""  # logged out: nobody
    assert resolve(CLASS, "name:alice", {}, {}) == "name:alice"                      # the session holds it
    assert resolve(CLASS, "", url_params("name:bob", CLASS), {}) == "name:bob"        # a refresh
    assert resolve(CLASS, "", {}, {}) == "" and resolve(CLASS, "anon:" + "0" * 32, {}, {}) == ""
    me = "anon:" + "a" * 32
    assert resolve(LAPTOP, me, {}, {}) == me and resolve(LAPTOP, "", {"me": "a" * 32}, {}) == me
    assert resolve(LAPTOP, "", {}, {}).startswith("anon:")


def test_kinds_of_identity_never_collide():
    # a student who types "lecturer" is not the lecturer, and no name equals a login or a laptop id
    assert student_identity("lecturer", "owl42", CLASS) != LECTURER
    assert shown_name("name:alice") == "alice" and shown_name(LECTURER) == "the lecturer"
    assert shown_name("user:ada@uni.edu") == "ada@uni.edu" and shown_name("") == "nobody yet"


def test_students_jobs_and_runs_follow_their_identity():
    alice = Access(student_identity("Alice", "owl42", CLASS), lecturer=False, single_user=False)
    again = Access(from_url(url_params("name:alice", CLASS), CLASS), lecturer=False, single_user=False)
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
