"""Helpers for tests: tiny saved runs, an AppTest opened on one page, and polling for a condition."""
import time

from streamlit.testing.v1 import AppTest
from torch import nn

from nets.engine.config import TrainConfig
from nets.experiment import run_training


def tiny_run(ckpt, name, **changes) -> str:
    """A 2-epoch MLP on 200 bundled MNIST digits (about a second); returns its run id."""
    cfg = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(16,), train_per_class=20, epochs=2,
                      name=name, **changes)
    return run_training(cfg, checkpoints=ckpt).run_id


def open_page(page, ckpt, monkeypatch, state=None) -> AppTest:
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    at = AppTest.from_file("../app.py", default_timeout=60)
    for k, v in (state or {}).items():
        at.session_state[k] = v
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def open_train(params=None) -> AppTest:
    """The Train page opened as a link opens it: query parameters set, then switched to before the first
    run (tests/test_page_lesson.py's docstring says why)."""
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.query_params.update(params or {})
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    return at


def app_on(page: str) -> AppTest:
    """The app, run once as a visitor opening it, then switched to `page` (a calculator needs nothing
    else: no checkpoints folder, no session state)."""
    app = AppTest.from_file("../app.py", default_timeout=60)
    app.run()
    app.switch_page(page)
    return app.run()


def rerun_until(at: AppTest, done, timeout: float = 90.0) -> AppTest:
    """Rerun the page until `done(at)` (a job's live fragment polls with run_every, which never fires
    under AppTest); fails clearly if it never does, or if a rerun raises."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        at.run()
        assert not at.exception, at.exception
        if done(at):
            return at
        time.sleep(0.2)
    raise AssertionError("the page did not get there in time")


def until(predicate, timeout: float = 120.0) -> None:
    """Poll, not sleep-and-hope: returns as soon as it holds, fails clearly if it never does (the
    timeout is an upper bound for a loaded machine, never a speed claim)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


class NaNFrom(nn.Module):
    """Wraps a model; its training outputs turn NaN from the `after`-th training batch on (a
    divergence at a chosen place, for the engine's and the outcome's tests)."""

    def __init__(self, inner: nn.Module, after: int):
        super().__init__()
        self.inner, self.after, self.calls = inner, after, 0

    def forward(self, x):
        out = self.inner(x)
        if self.training:
            self.calls += 1
            if self.calls >= self.after:
                out = out * float("nan")
        return out


def sign_in(at: AppTest, name: str, phrase: str, code: str | None = None) -> AppTest:
    """Sign in on a classroom server's form (the sidebar, or the top of the Train page): the name,
    the class code when `code` is given, the passphrase (the first sign-in with a name sets it)."""
    at.text_input(key="id_name").set_value(name)
    if code is not None:
        at.text_input(key="id_code").set_value(code)
    if any(w.key == "id_pass" for w in at.text_input):  # (the form before issue 19 had no passphrase)
        at.text_input(key="id_pass").set_value(phrase)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception, at.exception
    return at


def signed_in_as(at: AppTest) -> str:
    """The sidebar's "signed in as" line, '' when nobody is."""
    return next((c.value for c in at.sidebar.caption if c.value.startswith("👤")), "")


def tab(ckpt, monkeypatch, *, secrets: dict, page=None, url=None, user=None) -> AppTest:
    """A new browser tab of a server with these `secrets`, opened at a URL with these query
    parameters (as a logged-in `user`, when given), then on `page`."""
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.secrets.update(secrets)
    at.query_params.update(url or {})
    if user is not None:
        at.user = user
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at

