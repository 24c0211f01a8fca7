"""The From-scratch page under AppTest: training to the end and stopping through the server's job
service, the lessons, the activation comparison."""
import os
import socket
import time
from pathlib import Path

import pytest
from pagetools import rerun_until
from streamlit.testing.v1 import AppTest

from nets.text import shown


@pytest.fixture
def app(service):
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page("pages/scratch.py").run()
    assert not at.exception
    # small and quick: the bundled digits, two small hidden layers, large batches
    widget(at, "selectbox", "dataset").set_value("mnist-mini").run()
    widget(at, "text_input", "hidden").set_value("32,16").run()
    widget(at, "number_input", "batch_size").set_value(64).run()
    widget(at, "number_input", "epochs").set_value(2).run()
    return at


def widget(at, kind, key):
    return next(w for w in getattr(at, kind) if w.key == "sw_" + key)


def button(at, label):
    return next(b for b in at.button if b.label.startswith(label))


def lessons(at) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("💡")]


def test_page_opens_with_the_lesson_and_the_settings(service):
    at = AppTest.from_file("../app.py", default_timeout=60).run()
    at.switch_page("pages/scratch.py").run()
    assert not at.exception
    assert "from scratch" in at.title[0].value.lower()
    assert any("backpropagation" in m.value.lower() for m in at.markdown)
    assert widget(at, "selectbox", "dataset").value == "fashion-mnist-mini"  # bundled: works offline
    assert not at.info  # nothing to download
    assert widget(at, "text_input", "hidden").value == "256,128,64"
    assert any("std = √(2/n_in)" in c.value for c in at.caption)
    assert lessons(at) == []


def test_train_a_tiny_run_to_the_end_beside_pytorch(app):
    button(app, "Train").click().run()
    assert not app.exception
    rerun_until(app, lambda a: a.dataframe or a.error, 60)
    assert not app.exception and not app.error
    table = app.dataframe[0].value
    assert table["network"].tolist() == ["NumPy", "PyTorch"] and (table["epochs"] == 2).all()
    assert (table["test acc"] > 0.5).all()
    assert len(app.get("vega_lite_chart")) == 2
    twin = [m for m in lessons(app) if "The same network in PyTorch" in m]
    assert twin and "Largest gap between the two training-loss curves" in twin[0]
    assert app.get("download_button")


def test_train_and_stop_through_the_job_service(app, service):
    widget(app, "number_input", "epochs").set_value(500).run()
    button(app, "Train").click().run()
    assert not app.exception
    (v,) = service.views()  # the page's run is a job of the server's one service, this session's
    assert v.kind == "lab" and v.owner and v.settings.epochs == 500
    deadline = time.time() + 60
    while not service.view(v.id).runs and time.time() < deadline:
        time.sleep(0.05)
    app.run()
    assert app.button(key=f"stop-{v.id}").label == "Stop" and button(app, "Train").disabled
    app.button(key=f"stop-{v.id}").click().run()
    rerun_until(app, lambda a: a.dataframe or a.error, 60)
    assert not app.exception and service.view(v.id).status == "stopped"
    table = app.dataframe[0].value
    assert table["network"].tolist() == ["NumPy", "PyTorch"] and (table["epochs"] < 500).all()
    assert app.get("progress")[0].proto.text.startswith("stopped · ")
    assert not button(app, "Train").disabled
    app.switch_page("pages/train.py").run()  # the Train page's job list shows training jobs only
    assert not app.exception and not [e for e in app.expander if "jobs on this server" in e.label.lower()]


def test_a_run_waits_its_turn_behind_the_sessions_training_job(app, service):
    from nets.engine.config import TrainConfig
    owner = app.session_state["identity"]
    train = service.submit(TrainConfig(model="mlp", epochs=1000, train_per_class=20, log_every=1), owner=owner)
    button(app, "Train").click().run()
    assert len(app.info) == 1 and app.info[0].value.startswith("Queued: position 1 in the queue; it should start in about")
    service.stop(train.id)
    rerun_until(app, lambda a: a.dataframe or a.error, 60)
    assert app.dataframe[0].value["network"].tolist() == ["NumPy", "PyTorch"]


def test_zero_initialisation_is_explained_when_chosen(app):
    widget(app, "selectbox", "init").set_value("zero").run()
    assert any("Zero initialisation" in m for m in lessons(app))
    widget(app, "selectbox", "activation").set_value("sigmoid").run()
    button(app, "Train").click().run()
    rerun_until(app, lambda a: a.dataframe or a.error, 60)
    shown = [m for m in lessons(app) if "Zero initialisation" in m]
    assert len(shown) == 1 and "layer 1 identical, layer 2 identical" in shown[0]


def test_activation_comparison_produces_a_table(app):
    widget(app, "number_input", "epochs").set_value(1).run()
    button(app, "Compare activations").click().run()
    rerun_until(app, lambda a: a.dataframe or a.error, 60)
    assert not app.exception
    table = app.dataframe[0].value
    assert table["network"].tolist() == ["relu", "tanh", "sigmoid", "linear"]
    assert table["test acc"].notna().all()
    assert any("Linear layers collapse" in m for m in lessons(app))


def test_bad_sizes_are_explained_and_block_training(app):
    widget(app, "text_input", "hidden").set_value("32,x").run()
    assert not app.exception and any("whole numbers" in e.value for e in app.error)
    assert button(app, "Train").disabled and button(app, "Compare activations").disabled


def test_a_dataset_that_must_download_says_so_and_fails_briefly(app, tmp_path, monkeypatch):
    from torchvision.datasets import CIFAR10
    with socket.socket() as s:  # a port where nothing listens: the download cannot start
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/{CIFAR10.filename}"
    monkeypatch.setattr(CIFAR10, "url", dead)
    widget(app, "selectbox", "dataset").set_value("cifar10").run()
    assert [i.value for i in app.info] == ["CIFAR-10 is not on this machine: the first run downloads about 170 MB."]
    button(app, "Train").click().run()
    rerun_until(app, lambda a: a.dataframe or a.error, 60)  # the job loads the data: it fails, and says why
    assert not app.exception
    assert [shown(e.value) for e in app.error] == [
        "CIFAR-10 could not be downloaded: the download server did not answer. Use a bundled dataset "
        "(mnist-mini, fashion-mnist-mini) or put the files in "
        f"{Path(os.environ['NNLAB_DATA_DIR']) / 'cifar-10-batches-py'}."]
    assert [x.label for x in app.expander] == ["Details"] and dead in app.expander[0].code[0].value

