"""Issue 20, the Train page's part: the doctor's follow-up gets its own name (3), the four
configurations say what they use and lock what they ignore (7), Home's quick starts train at once (9),
and the smaller words and values of item 10."""
import time
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from nets.engine.config import TrainConfig, four_configs_summary
from nets.engine.naming import default_name, is_generated, unique_name
from nets.parse import ParseError, float_list, int_list
from nets.coach.doctor import Advice
from nets.text import shown
from tests.pagetools import open_page, sign_in


from test_page_train import app, widget  # noqa: E402,F401 (the Train page opened fresh; a form widget by key)


def errors(at) -> str:
    return " | ".join(shown(e.value) for e in at.error)


def summary(at) -> str:
    return next((shown(m.value) for m in at.markdown if "parameters**" in shown(m.value)), "")


def train_button(at):
    return next(b for b in at.button if b.label == "Train")


def until_ended(at, timeout=90):
    """run_every never fires under AppTest: rerun until no Stop button is left."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        at.run()
        if not any(b.label.startswith("Stop") for b in at.button):
            return
        time.sleep(0.2)
    raise AssertionError("the job did not end in time")


# ------------------------------------------------------------------------------ item 3
def test_a_doctors_follow_up_drops_the_generated_name_and_keeps_a_typed_one():
    failed = TrainConfig(lr=1000.0)
    named = TrainConfig(lr=1000.0, name=unique_name(default_name(failed), [default_name(failed)] +
                                                    [f"{default_name(failed)} #{k}" for k in range(2, 6)]))
    assert named.name.endswith("#6") and is_generated(named.name, named)
    retry = Advice("diverged", "Diverged", "…", "Retry with learning rate 0.01", {"lr": 0.01})
    new = retry.apply(named)
    assert new.lr == 0.01 and new.name == "" and "lr 0.01" in new.label() and "1000" not in new.label()
    assert retry.apply(TrainConfig(lr=1000.0, name="my own try")).name == "my own try"
    assert not is_generated("my own try", failed)
    long = TrainConfig(model="mlp", hidden=(256, 128, 64), dataset="fashion-mnist-mini", train_per_class=50,
                       activation="leaky_relu", lr=1000.0)
    cut = unique_name(default_name(long), [default_name(long)])  # shortened to make room for " #2"
    assert is_generated(cut, long) and retry.apply(TrainConfig.from_dict({**long.to_dict(), "name": cut})).name == ""


def test_the_retried_run_is_named_from_its_own_settings(app):
    widget(app, "number_input", "train_per_class").set_value(20).run()
    widget(app, "number_input", "lr").set_value(1000.0).run()
    train_button(app).click().run()
    until_ended(app)
    assert not app.exception, app.exception
    retry = next(b for b in app.button if b.label.startswith("Retry with learning rate"))
    retry.click().run()
    assert not app.exception
    note = next(shown(s.value) for s in app.success if "learning rate 1000 → 0.01" in shown(s.value))
    assert "lenet · mnist-mini 20/class · sgd lr 0.01 · cross-entropy" in note and "lr 1000 ·" not in note
    assert widget(app, "text_input", "name").value == ""  # not the failed run's "… sgd lr 1000 …"
    train_button(app).click().run()
    until_ended(app)
    names = [shown(m.value) for m in app.markdown if "mnist-mini" in shown(m.value) and "[" in shown(m.value)]
    assert names and "sgd lr 0.01" in names[0] and "lr 1000" not in names[0]


def test_a_generated_name_is_made_again_when_the_settings_change(ckpt, monkeypatch):
    generated = default_name(TrainConfig(lr=1000.0)) + " #6"  # a run's, opened again in the form
    app = open_page("pages/train.py", ckpt, monkeypatch, {"train_cfg": TrainConfig(lr=1000.0, name=generated).to_dict()})
    assert widget(app, "text_input", "name").value == generated  # the same settings: kept
    widget(app, "number_input", "lr").set_value(0.01).run()
    assert widget(app, "text_input", "name").value == ""
    assert app.session_state["train_cfg"]["name"] == ""
    widget(app, "text_input", "name").set_value("lr sweep, try 2").run()
    widget(app, "number_input", "lr").set_value(0.02).run()
    assert widget(app, "text_input", "name").value == "lr sweep, try 2"  # typed: kept


# ------------------------------------------------------------------------------ item 7
def test_four_configurations_state_what_they_use_and_lock_what_they_ignore(app):
    assert four_configs_summary() == "SGD lr 0.001 and Adam lr 0.01 × cross-entropy and squared error"
    next(t for t in app.toggle if t.key == "tw_four").set_value(True).run()
    text = summary(app)
    assert "as **four runs**: SGD lr 0.001 and Adam lr 0.01 × cross-entropy and squared error" in text
    assert "sgd lr 0.05" not in text and "cross-entropy ·" not in text  # the form's own, not used
    assert text.count("four runs") == 1
    assert widget(app, "selectbox", "optimizer").disabled and widget(app, "number_input", "lr").disabled
    assert widget(app, "slider", "momentum").disabled and widget(app, "radio", "loss").disabled
    assert any("Four configurations** is on" in shown(c.value) for c in app.caption)
    assert not widget(app, "number_input", "epochs").disabled
    next(t for t in app.toggle if t.key == "tw_four").set_value(False).run()
    assert not widget(app, "number_input", "lr").disabled and "sgd lr 0.05 · cross-entropy" in summary(app)


# ------------------------------------------------------------------------------ item 9
def test_homes_quick_start_trains_at_once_and_lands_on_the_live_panel(ckpt, monkeypatch):
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    at = AppTest.from_file("../app.py", default_timeout=60).run()
    start = next(b for b in at.button if b.key == "preset-MNIST in a minute")
    assert start.label == "▶ Train now"
    start.click().run()
    assert not at.exception, at.exception
    assert at.title[0].value.endswith("Train") and at.session_state["train_job"]
    assert any(b.label == "Edit settings" for b in at.button)  # the live panel, the form folded
    assert any("lenet · mnist-mini · sgd lr 0.05" in shown(m.value) for m in at.markdown)
    stop = next((b for b in at.button if b.label == "Stop"), None)
    if stop is not None:
        stop.click().run()
    until_ended(at)


def test_a_signed_out_student_is_taken_to_train_with_the_form_filled(ckpt, monkeypatch):
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.secrets["lecturer_password"] = "letmein"  # a classroom server: students sign in
    at.run()
    start = next(b for b in at.button if b.key == "preset-ResNet-18 from scratch")
    assert start.label == "Open in Train"
    start.click().run()
    assert not at.exception and at.title[0].value.endswith("Train")
    assert "train_job" not in at.session_state or not at.session_state["train_job"]
    assert widget(at, "selectbox", "model").value == "resnet18"
    sign_in(at, "ana", "ana's own words")
    assert not train_button(at).disabled


# ------------------------------------------------------------------------------ item 10
def test_epochs_zero_and_a_negative_learning_rate_are_refused_in_words(app):
    widget(app, "number_input", "epochs").set_value(0).run()
    assert not app.exception
    assert "the number of epochs must be from 1 to 10,000; you typed 0" in errors(app)
    assert train_button(app).disabled and widget(app, "number_input", "epochs").value == 0
    widget(app, "number_input", "epochs").set_value(2).run()
    widget(app, "number_input", "lr").set_value(-1.0).run()
    assert "the learning rate must be above 0 and at most 1,000; you typed -1" in errors(app)
    assert "0.0 must be" not in errors(app) and train_button(app).disabled


def test_an_empty_item_between_commas_is_refused(app):
    with pytest.raises(ParseError, match="an empty item between commas"):
        int_list("256,,128", "Hidden sizes")
    assert int_list("256, 128") == int_list("256 128") == (256, 128)
    widget(app, "selectbox", "model").set_value("mlp").run()
    widget(app, "text_input", "hidden").set_value("256,,128").run()
    assert "an empty item between commas" in errors(app) and train_button(app).disabled


def test_a_bad_item_is_named_before_the_count():
    with pytest.raises(ParseError, match="'abc' is not a number"):
        float_list("1/2, abc", "x", n=3)
    with pytest.raises(ParseError, match="you typed 2"):
        float_list("1/2, 1", "x", n=3)


def test_after_a_stop_the_progress_line_and_the_outcome_agree_on_the_batch():
    from pages._train_live import progress_text
    from nets.coach.outcome import describe
    progress = {"epoch": 1, "batch": 32, "batches": 94, "loss": 0.5, "images_per_s": 900.0, "eta_s": 3.0}
    notes = [{"kind": "Stopped", "epoch": 1, "batch": 33}]
    v = SimpleNamespace(progress=progress, notes=notes, active=False, config=TrainConfig(epochs=5))
    line = progress_text(v)
    out = describe("stopped", {"best_test_acc": 0.5}, notes=notes, has_model=True, batches_per_epoch=94)
    assert "batch 33 of 94" in line and "after 33 of 94 batches" in out.headline
    running = SimpleNamespace(progress=progress, notes=[], active=True, config=TrainConfig(epochs=5))
    assert "batch 32 of 94" in progress_text(running) and "s left" in progress_text(running)
