import time

import pytest
from streamlit.testing.v1 import AppTest

from nets.runs import list_runs
from nets.text import shown


@pytest.fixture
def app(ckpt, monkeypatch):
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    return at


def widget(at, kind, key):
    return next(w for w in getattr(at, kind) if w.key == "tw_" + key)


OUTCOMES = ("Completed", "Stopped", "Diverged", "Training failed", "Converged")


def outcome(at) -> str:
    """The outcome: its box's headline and the lines below the charts, '' while the job runs."""
    boxes = [*at.success, *at.info, *at.warning, *at.error]
    head = next((shown(b.value) for b in boxes if shown(b.value).lstrip("*").startswith(OUTCOMES)), "")
    about = [shown(m.value) for e in at.expander if e.label == "About this run" for m in e.markdown]
    return "  \n".join([head, *about]) if head else ""


def summary(at) -> str:
    return next((shown(m.value) for m in at.markdown if "parameters**" in shown(m.value)), "")


def poll_until_done(at, timeout=60):
    """run_every never fires under AppTest: rerun until the job's outcome is shown."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        at.run()
        if outcome(at):
            return
        time.sleep(0.2)
    raise AssertionError("training did not finish in time")


def test_parameter_count_shows_before_training(app):
    assert "8,490 parameters" in summary(app)
    widget(app, "selectbox", "model").set_value("mlp").run()
    assert "101,770 parameters" in summary(app)
    widget(app, "text_input", "hidden").set_value("256,128,64").run()
    assert "242,762 parameters" in summary(app)


def test_invalid_settings_are_explained_not_crashed_on(app):
    widget(app, "selectbox", "model").set_value("mlp").run()
    widget(app, "text_input", "hidden").set_value("12,x").run()
    assert not app.exception and any("whole numbers" in shown(e.value) for e in app.error)
    assert next(b for b in app.button if b.label == "Train").disabled
    widget(app, "text_input", "hidden").set_value("64").run()
    widget(app, "number_input", "lr").set_value(0.0).run()
    assert any("learning rate" in shown(e.value) for e in app.error)


def test_train_a_tiny_run_to_the_end(app, ckpt):
    widget(app, "number_input", "train_per_class").set_value(20).run()
    widget(app, "number_input", "epochs").set_value(2).run()
    next(b for b in app.button if b.label == "Train").click().run()
    poll_until_done(app)
    assert not app.exception
    assert outcome(app).startswith("**Completed all 2 epochs") and app.success
    runs, _ = list_runs(ckpt)
    assert runs[0].name == "lenet · mnist-mini 20/class · sgd lr 0.05 · cross-entropy"
    assert f"{runs[0].info['test']['accuracy']:.1%}" in outcome(app)
    assert len(runs) == 1 and runs[0].info["status"] == "completed" and len(runs[0].info["history"]) == 2
    assert len(app.get("vega_lite_chart")) >= 3


def test_doctor_follow_up_fills_the_form(app):
    widget(app, "number_input", "train_per_class").set_value(20).run()
    widget(app, "number_input", "lr").set_value(1000.0).run()
    next(b for b in app.button if b.label == "Train").click().run()
    poll_until_done(app)
    # lr 1000 either overflows (NaN) or kills every ReLU (chance): both far too high for SGD
    text = outcome(app)
    assert not any(shown(b.value) == text for b in app.success), "a run that went wrong is not a green box"
    if text.startswith("**Diverged"):
        assert ("No model was saved" in text) != ("best model before that point" in text)
    retry = next(b for b in app.button if b.label.startswith("Retry with learning rate"))
    proposed = float(retry.label.rsplit(" ", 1)[1])
    assert proposed == 0.01  # SGD's usual value, not 1000 / 10
    retry.click().run()
    assert widget(app, "number_input", "lr").value == proposed  # the visible control changed
    assert any("learning rate 1000 → 0.01" in shown(s.value) for s in app.success)
    widget(app, "number_input", "lr").set_value(0.02).run()  # and the next value typed is kept
    app.run()
    assert widget(app, "number_input", "lr").value == 0.02
    assert app.session_state["train_cfg"]["lr"] == 0.02


def test_a_job_survives_leaving_the_page_and_a_refresh(app, ckpt):
    widget(app, "number_input", "train_per_class").set_value(20).run()
    widget(app, "number_input", "epochs").set_value(200).run()
    next(b for b in app.button if b.label == "Train").click().run()
    url = dict(app.query_params)  # the job, and who started it (nets.server.identity: a laptop tab's id)
    assert set(url) == {"job", "me"}
    app.switch_page("pages/runs.py").run()
    app.switch_page("pages/train.py").run()
    assert any(shown(m.value).startswith("**lenet · mnist-mini") for m in app.markdown)  # shown again on return
    assert dict(app.query_params) == url  # a page switch drops parameters: the app sets them again

    fresh = AppTest.from_file("../app.py", default_timeout=60)  # a refreshed tab: new session, same URL
    fresh.query_params.update(url)
    fresh.run()
    fresh.switch_page("pages/train.py").run()
    stop = next(b for b in fresh.button if b.label == "Stop")
    stop.click().run()
    poll_until_done(fresh)
    assert outcome(fresh).startswith("**Stopped")


def test_extreme_settings_get_plain_messages_and_lose_nothing(app, ckpt):
    # a typed number reaches validate() (nets.engine.options.SETTINGS), which refuses it in words
    widget(app, "number_input", "lr").set_value(0.0).run()
    assert not app.exception and any("learning rate must be above 0 and at most 1,000; you typed 0" in shown(e.value)
                                     for e in app.error)
    assert next(b for b in app.button if b.label == "Train").disabled
    assert next(w for w in app.number_input if w.key == "tw_epochs").min is None  # 0 is typed, then refused
    widget(app, "number_input", "lr").set_value(0.05).run()
    widget(app, "number_input", "train_per_class").set_value(2).run()  # 20 images
    for batch in (10_000, 1):  # larger than the dataset, and a single image
        widget(app, "number_input", "batch_size").set_value(batch).run()
        widget(app, "number_input", "epochs").set_value(1).run()
        next(b for b in app.button if b.label == "Train").click().run()
        poll_until_done(app)
        assert not app.exception and outcome(app).startswith("**Completed")
        next(b for b in app.button if b.label == "Edit settings").click().run()
    assert len(list_runs(ckpt)[0]) == 2


def test_four_configurations_are_read_side_by_side(app, ckpt):
    widget(app, "number_input", "train_per_class").set_value(20).run()
    widget(app, "number_input", "epochs").set_value(2).run()
    next(t for t in app.toggle if t.key == "tw_four").set_value(True).run()
    assert "as **four runs**" in summary(app)
    next(b for b in app.button if b.label == "Train").click().run()
    assert any(shown(m.value).startswith("#### The four configurations") for m in app.markdown)
    deadline = time.time() + 120
    while time.time() < deadline and any(b.label == "Stop all four" for b in app.button):
        time.sleep(0.3)
        app.run()
    app.run()
    assert not app.exception
    runs, _ = list_runs(ckpt)
    names = sorted(r.name for r in runs)
    assert len(names) == 4 and len(set(names)) == 4  # distinct, meaningful names
    assert any("sgd lr 0.001" in n and "squared error" in n for n in names)
    text = " ".join(shown(e.value) for e in [*app.markdown, *app.info, *app.success, *app.warning, *app.error])
    assert "None" not in text
    # the lesson of the exercise in one sentence, and every run's outcome shown, not only the first's
    assert any("learned best" in shown(i.value) for i in app.info)
    assert sum(shown(m.value).startswith("test accuracy ·") for m in app.markdown) == 4
    assert any(shown(m.value).startswith("#### The four configurations · lenet · mnist-mini") for m in app.markdown)


def test_a_dataset_that_must_download_says_so_before_and_after(app, tmp_path, monkeypatch):
    from torchvision.datasets import CIFAR10
    monkeypatch.setenv("NNLAB_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setattr(CIFAR10, "url", "http://nnlab-test.invalid/cifar-10-python.tar.gz")  # offline
    app.run()
    dataset = widget(app, "selectbox", "dataset")
    assert "cifar10 (170 MB download)" in [dataset.format_func(o) for o in dataset.options]
    dataset.set_value("cifar10").run()
    assert any("the first run downloads about 170 MB" in shown(c.value) for c in app.caption)  # before Train
    next(b for b in app.button if b.label == "Train").click().run()
    poll_until_done(app)
    text = outcome(app)
    assert text.startswith("**Training failed") and "CIFAR-10 could not be downloaded" in text
    assert "urlopen" not in text and "Traceback" not in text  # the raw error is folded away
    details = next(e for e in app.expander if e.label == "Details")
    assert "nnlab-test.invalid" in details.code[0].value


def test_train_pressed_in_the_same_moment_as_a_setting_changes_still_trains(app, ckpt):
    """On a busy server the click can land on the button drawn for the previous settings (the load
    test lost 7 of 30 jobs that way): the setting and the click arrive in one rerun."""
    widget(app, "number_input", "train_per_class").set_value(20).run()
    widget(app, "number_input", "epochs").set_value(1)
    next(b for b in app.button if b.label == "Train").click().run()
    poll_until_done(app)
    (run,) = list_runs(ckpt)[0]
    assert run.config.epochs == 1 and run.info["status"] == "completed"


def test_hidden_sizes_are_read_as_on_every_page(app):
    """Commas, spaces or semicolons, as the NumPy page and the command line read them (nets.parse)."""
    widget(app, "selectbox", "model").set_value("mlp").run()
    for text in ("256 128", "256, 128", "256;128"):
        widget(app, "text_input", "hidden").set_value(text).run()
        assert not app.exception and not app.error
        assert tuple(app.session_state["train_cfg"]["hidden"]) == (256, 128)
        assert "235,146 parameters" in summary(app)  # (784+1)·256 + (256+1)·128 + (128+1)·10
        assert not next(b for b in app.button if b.label == "Train").disabled


def test_every_option_a_model_takes_has_its_widget_from_the_one_table(app):
    from nets.engine.models import MODELS, model_defaults
    from nets.engine.options import OPTIONS
    for model in MODELS:
        widget(app, "selectbox", "model").set_value(model).run()
        assert not app.exception
        for name in [*model_defaults(model), "backbone"]:
            kind, _ = OPTIONS[name].widget()
            assert widget(app, kind, name).label == OPTIONS[name].label, (model, name)
        others = set(OPTIONS) - set(model_defaults(model)) - {"backbone"}
        assert not [w for w in app.main if getattr(w, "key", None) in {"tw_" + o for o in others}]
