"""Identities in the app (nets.server.identity): a classroom server with a lecturer password and a class code,
a login server, and a laptop. Each AppTest is one browser tab."""
import time

import pagetools
from pagetools import signed_in_as
from streamlit.testing.v1 import AppTest

from nets.engine.config import TrainConfig
from nets.experiment import run_training
from nets.text import plain

PASSWORD, CODE, PHRASE = "lecturer-pw", "owl42", "my own phrase"
AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32, "client_id": "c",
        "client_secret": "c", "server_metadata_url": "https://id.invalid/.well-known/openid-configuration"}


def tab(ckpt, monkeypatch, page=None, url=None, secrets=None, user=None) -> AppTest:
    """A new browser tab on `page`, opened at a URL with these query parameters."""
    return pagetools.tab(ckpt, monkeypatch, page=page, url=url, user=user,
                         secrets={"lecturer_password": PASSWORD, "class_code": CODE} if secrets is None else secrets)


def sign_in(at, name, code=CODE, phrase=PHRASE) -> AppTest:
    return pagetools.sign_in(at, name, phrase, code)  # in the sidebar, or at the top of the Train page


def lecturer(at) -> AppTest:
    at.sidebar.text_input(key="lecturer_try").set_value(PASSWORD).run()
    assert any(c.value == "🎓 Lecturer mode" for c in at.sidebar.caption)
    return at


def jobs_listed(at) -> list[str]:
    """The labels of the jobs in the Train page's jobs list."""
    box = next((e for e in at.expander if "on this server" in e.label), None)
    return [m.value for m in box.markdown] if box else []


def active(listed: list[str]) -> bool:
    return any(" · running" in j or " · queued" in j for j in listed)


def button(at, label):
    return next((b for b in at.button if b.label == label), None)


def texts(at) -> str:
    return " ".join(e.value for e in [*at.markdown, *at.info, *at.warning, *at.error, *at.caption])


def saved_run(ckpt, name, owner) -> str:
    cfg = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(16,), train_per_class=10, epochs=1, name=name)
    return run_training(cfg, checkpoints=ckpt, owner=owner).run_id


def train_long(at) -> str:
    """Start a job that runs until it is stopped; returns its id."""
    at.number_input(key="tw_train_per_class").set_value(20).run()
    at.number_input(key="tw_epochs").set_value(500).run()
    button(at, "Train").click().run()
    assert not at.exception, at.exception
    return at.query_params["job"]


def stop_and_finish(at) -> None:
    button(at, "Stop").click().run()
    deadline = time.time() + 60
    while button(at, "Stop") is not None and time.time() < deadline:
        time.sleep(0.2)
        at.run()
    assert button(at, "Stop") is None


# ------------------------------------------------------------------------------ a classroom server
def test_a_student_must_sign_in_before_training(ckpt, monkeypatch):
    at = tab(ckpt, monkeypatch, "pages/train.py")
    assert signed_in_as(at) == "" and "Sign in with your name to train" in at.markdown[0].value  # on top
    assert not any(w.key == "id_name" for w in at.sidebar.text_input)  # one form: the page's
    train = button(at, "Train")  # greyed out, saying why
    assert train.disabled and "Sign in with your name" in train.help
    assert not at.exception and "job" not in at.query_params and jobs_listed(at) == []
    sign_in(at, "Alice", code="owl41")
    assert signed_in_as(at) == "" and any("class code is not right" in c.value for c in at.caption)
    sign_in(at, "  Alice ")
    assert signed_in_as(at) == "👤 Signed in as **alice**"
    assert "student" not in at.query_params and len(at.query_params["token"]) >= 32  # a random token
    assert "me" not in at.query_params  # an anonymous id means nothing on a classroom server
    assert not any("Sign in with your name" in m.value for m in at.markdown)


def test_without_a_class_code_the_name_is_enough(ckpt, monkeypatch):
    at = tab(ckpt, monkeypatch, secrets={"lecturer_password": PASSWORD})
    assert not any(w.key == "id_code" for w in at.text_input)
    assert signed_in_as(sign_in(at, "Carol", code=None)) == "👤 Signed in as **carol**"
    next(b for b in at.sidebar.button if b.label == "Sign out").click().run()
    assert signed_in_as(at) == "" and not {"student", "token"} & set(at.query_params)


def test_a_forged_url_signs_nobody_in(ckpt, monkeypatch):
    alice = sign_in(tab(ckpt, monkeypatch), "alice")
    token = alice.query_params["token"]
    changed = token[:-1] + ("A" if token[-1] != "A" else "B")
    for url in ({"student": "bob", "token": changed}, {"student": "alice"}, {"student": "alice", "token": "0" * 32},
                {"me": "a" * 32}, {"lecturer": token}):  # a student's token is no lecturer's
        at = tab(ckpt, monkeypatch, url=url)
        assert signed_in_as(at) == "", url
        assert not {"student", "token", "me", "lecturer"} & set(at.query_params), url  # and the URL is cleaned
    other_server = tab(ckpt, monkeypatch, url=dict(alice.query_params),
                       secrets={"lecturer_password": "another", "class_code": CODE})
    assert signed_in_as(other_server) == ""


def test_students_see_only_their_own_jobs_and_the_lecturer_sees_all(ckpt, monkeypatch):
    alice = sign_in(tab(ckpt, monkeypatch, "pages/train.py"), "Alice")
    job_id = train_long(alice)
    try:
        assert jobs_listed(alice) and button(alice, "Stop") is not None
        url = dict(alice.query_params)
        assert set(url) == {"job", "token"}

        # Bob, in another browser: no job in his list, and Alice's job id in his URL shows nothing
        bob = sign_in(tab(ckpt, monkeypatch, "pages/train.py"), "Bob")
        assert jobs_listed(bob) == [] and button(bob, "Stop") is None
        bob = sign_in(tab(ckpt, monkeypatch, url={"job": job_id}), "bob")
        bob.switch_page("pages/train.py").run()
        assert button(bob, "Stop") is None and not any("-badge[" in m.value for m in bob.markdown)
        assert "not yours" in texts(bob) and jobs_listed(bob) == []
        assert active(jobs_listed(alice.run()))  # nobody stopped it

        # Alice after a refresh (same URL) and in a new tab (her name and the class code again)
        refreshed = tab(ckpt, monkeypatch, "pages/train.py", url=url)
        assert signed_in_as(refreshed) == "👤 Signed in as **alice**" and button(refreshed, "Stop") is not None
        new_tab = sign_in(tab(ckpt, monkeypatch), "ALICE")
        new_tab.switch_page("pages/train.py").run()
        assert len(jobs_listed(new_tab)) == 1 and active(jobs_listed(new_tab))

        # a page switch drops the URL's parameters in the browser: the app sets them again
        refreshed.query_params.clear()
        refreshed.switch_page("pages/runs.py").run()
        assert refreshed.query_params["token"] == url["token"]

        # the lecturer sees every job, shows Alice's and stops it
        teacher = lecturer(tab(ckpt, monkeypatch, "pages/train.py"))
        teacher.switch_page("pages/train.py").run()
        assert len(jobs_listed(teacher)) == 1
        assert not {"student", "token", "me"} & set(teacher.query_params)  # no student's identity
        assert teacher.query_params["lecturer"]  # lecturer mode's own token: it survives a refresh
        next(b for b in teacher.button if b.label == "Show").click().run()
        stop_and_finish(teacher)
    finally:
        alice.run()
        if button(alice, "Stop") is not None:
            stop_and_finish(alice)
    alice.run()
    assert any("Stopped" in b.value for b in [*alice.warning, *alice.info, *alice.success, *alice.error])


def test_a_students_runs_are_private_on_every_page(ckpt, monkeypatch):
    saved_run(ckpt, "alice's run", "name:alice")
    saved_run(ckpt, "bob's run", "name:bob")
    saved_run(ckpt, "shared run", "name:bob")
    from nets.runs import get_run, list_runs, update_run
    shared = next(r for r in list_runs(ckpt)[0] if r.name == "shared run")
    update_run(get_run(ckpt, shared.id), shared=True)

    def names(at, page) -> dict:
        at.switch_page(page).run()
        assert not at.exception, at.exception
        if page == "pages/predictions.py":
            box = at.selectbox(key="predictions_run")
            return {o.split(" · ")[0] for o in box.options}  # the labels the user sees: "name · model on data"
        table = next(d.value for d in at.dataframe if "name" in d.value.columns)
        return set(table["name"])

    bob = sign_in(tab(ckpt, monkeypatch), "bob")
    alice = sign_in(tab(ckpt, monkeypatch), "alice")
    teacher = lecturer(tab(ckpt, monkeypatch))
    nobody = tab(ckpt, monkeypatch)
    for page in ("pages/home.py", "pages/runs.py", "pages/predictions.py"):
        assert names(alice, page) == {"alice's run", "shared run"}, page
        assert names(bob, page) == {"bob's run", "shared run"}, page
        assert names(teacher, page) == {"alice's run", "bob's run", "shared run"}, page
    assert names(nobody, "pages/home.py") == {"shared run"}


# ------------------------------------------------------------------------------ login and laptop
def test_a_login_server_uses_the_account(ckpt, monkeypatch):
    secrets = {"lecturer_password": PASSWORD, "auth": AUTH}
    at = tab(ckpt, monkeypatch, "pages/train.py", secrets=secrets, user={"is_logged_in": True, "email": "Ada@Uni.edu"})
    assert signed_in_as(at) == f"👤 Logged in as **{plain('ada@uni.edu')}**" and button(at, "Log out") is not None
    assert not any(w.key == "id_name" for w in at.sidebar.text_input)  # no name to give
    assert not {"student", "token", "me"} & set(at.query_params)   # the login has its own cookie
    out = tab(ckpt, monkeypatch, "pages/train.py", secrets=secrets, user={"is_logged_in": False})
    assert signed_in_as(out) == "" and "Log in to train" in out.markdown[0].value
    button(out, "Log in").click().run()  # without authlib (or a reachable provider): words, not a traceback
    assert not out.exception


def test_a_laptop_keeps_each_tab_in_its_url(ckpt, monkeypatch):
    saved_run(ckpt, "someone's run", "name:bob")
    at = tab(ckpt, monkeypatch, secrets={})
    me = at.query_params["me"]
    assert len(me) == 32 and signed_in_as(at) == "" and not at.sidebar.text_input  # nothing to ask
    assert set(at.dataframe[1].value["name"]) == {"someone's run"}  # every run is open on a laptop
    at.query_params.clear()
    at.switch_page("pages/runs.py").run()
    assert at.query_params["me"] == me
    again = tab(ckpt, monkeypatch, secrets={}, url={"me": me})
    assert again.query_params["me"] == me and again.session_state["identity"] == "anon:" + me
    other = tab(ckpt, monkeypatch, secrets={})
    assert other.query_params["me"] != me
