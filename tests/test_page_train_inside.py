"""The Train page's live panel with layer statistics (pages/_dynamics.py): the progress bar's second line, the
switch to the Inside charts and the histogram heat map; a job without statistics shows none of it."""
import json
import time
from urllib.parse import parse_qsl

import pytest
from streamlit.testing.v1 import AppTest

from nets.engine.config import TrainConfig
from nets.link.train import encode
from nets.text import shown

# A tiny sigmoid MLP with statistics every 2 steps: 200 bundled digits, a second or two.
TINY = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(16, 16, 16), activation="sigmoid", epochs=1,
                   train_per_class=20, stats_every=2)


def open_train(ckpt, monkeypatch, cfg: TrainConfig) -> AppTest:
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.query_params.update(dict(parse_qsl(encode(cfg).lstrip("?"))))  # a lesson link fills the form
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, at.exception
    return at


def train_to_the_end(at: AppTest, timeout: float = 60) -> None:
    next(b for b in at.button if b.label == "Train").click().run()
    deadline = time.time() + timeout
    while time.time() < deadline:  # run_every never fires under AppTest
        at.run()
        if any(shown(b.value).startswith("**Completed") for b in [*at.success, *at.warning, *at.info]):
            return
        time.sleep(0.1)
    raise AssertionError("training did not finish in time")


def titles(at: AppTest) -> list[str]:
    out = []
    for c in at.get("vega_lite_chart"):
        title = json.loads(c.proto.spec).get("title")
        out.append(title.get("text") if isinstance(title, dict) else title)
    return out


def switch(at: AppTest):
    return next((g for g in at.get("button_group") if g.label == "Charts"), None)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One trained job with statistics, shared by the tests of this file (the page's state is each test's own)."""
    mp = pytest.MonkeyPatch()
    at = open_train(tmp_path_factory.mktemp("ckpt"), mp, TINY)
    train_to_the_end(at)
    yield at
    mp.undo()


def test_a_job_with_statistics_gets_its_caption_line_and_the_switch(trained):
    at = trained
    assert not at.exception
    (line,) = [shown(p.proto.text) for p in at.get("progress")]
    progress, inside = line.split("  \n")  # the progress bar's text: its second line says what the statistics show
    assert progress.startswith("epoch 1 of 1") and inside.startswith(":small[🩺 ") and inside.endswith("]")
    assert switch(at).value == "By epoch"
    assert titles(at) == ["Training loss (cross-entropy)", "Loss by epoch", "Accuracy by epoch"]
    assert not at.get("image")  # the heat map comes with the Inside charts


def test_inside_the_network_draws_gradient_norms_and_update_ratios_and_stays_chosen(trained):
    at = trained
    at.session_state["train_inside_pick"] = "Inside the network"
    at.run()
    assert titles(at) == ["Training loss (cross-entropy)", "Gradient norm per layer, by step",
                          "Update ratio per layer, by step"]
    grad, ratio = (json.loads(c.proto.spec) for c in at.get("vega_lite_chart")[1:])
    assert len(at.get("image")) == 1 and any("Each strip is one layer" in c.value for c in at.caption)
    assert grad["encoding"]["y"]["scale"]["type"] == "log"
    assert any(layer["mark"]["type"] == "rule" for layer in ratio["layer"])  # the −3 line
    at.session_state["train_inside_pick"] = None  # a click on the chosen segment: it stays chosen
    at.run()
    assert at.session_state["train_inside_view"] == "Inside the network" and switch(at).value == "Inside the network"
    at.switch_page("pages/runs.py").run()
    at.switch_page("pages/train.py").run()
    assert switch(at).value == "Inside the network"
    at.session_state["train_inside_heat_pick"] = "activations"
    at.run()
    assert not at.exception and len(at.get("image")) == 1
    at.session_state["train_inside_pick"] = "By epoch"
    at.run()
    assert titles(at)[1] == "Loss by epoch"


def test_a_job_without_statistics_shows_nothing_new(ckpt, monkeypatch):
    at = open_train(ckpt, monkeypatch, TrainConfig(dataset="mnist-mini", model="mlp", hidden=(16,), epochs=1,
                                                    train_per_class=20, stats_every=0))
    train_to_the_end(at)
    assert switch(at) is None and not at.get("image")
    assert "🩺" not in at.get("progress")[0].proto.text
