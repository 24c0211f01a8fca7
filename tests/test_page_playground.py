"""Playground page (AppTest): it draws, Step trains an epoch, settings rebuild, bad input gets a message."""
import pytest
from streamlit.testing.v1 import AppTest


@pytest.fixture
def at():
    app = AppTest.from_file("../app.py", default_timeout=60)
    app.run()
    app.switch_page("pages/playground.py")
    return app.run()


def metrics(at):
    return {m.label: m.value for m in at.metric}


def button(at, label):
    return next(b for b in at.button if b.label == label)


def test_page_draws_and_step_trains(at):
    assert not at.exception and not at.error
    assert metrics(at)["Epoch"] == "0" and len(at.get("image")) == 2  # network diagram and heatmap
    first = float(metrics(at)["Test loss"])
    for _ in range(3):
        button(at, "Step").click().run()
    assert metrics(at)["Epoch"] == "2"  # the first Step ends epoch 0 mid-way; TF counts the same
    assert float(metrics(at)["Test loss"]) != first
    assert at.get("vega_lite_chart")


def test_changing_data_or_network_resets(at):
    button(at, "Step").click().run()
    at.selectbox(key="pg_data").set_value("spiral-k").run()
    assert not at.exception and at.slider(key="pg_k").value == 3
    assert metrics(at)["Epoch"] == "0"
    button(at, "➕").click().run()
    assert at.session_state["pg_state"].cfg.net.hidden == (4, 2, 2)
    at.selectbox(key="pg_loss").set_value("cross-entropy").run()
    assert not at.exception and not at.error


def test_bad_settings_get_a_message(at):
    for name in ("x1", "x2"):
        at.checkbox(key=f"pg_f_{name}").uncheck()
    at.run()
    assert not at.exception and "at least one input feature" in at.error[0].value
    at.checkbox(key="pg_f_x1").check().run()
    at.selectbox(key="pg_data").set_value("plane").run()
    at.selectbox(key="pg_loss").set_value("cross-entropy").run()
    assert not at.exception and "squared error" in at.error[0].value


def test_a_link_sets_and_locks_the_controls():
    app = AppTest.from_file("../app.py", default_timeout=60)
    app.run()
    app.query_params.update({"lesson": "1", "dataset": "xor", "hidden": "3", "features": "x1,x2,x1x2",
                             "learning_rate": "0.1", "hide": "dataset,hidden", "batch_size": "99"})
    app.switch_page("pages/playground.py")
    app.run()
    assert not app.exception
    cfg = app.session_state["pg_state"].cfg
    assert (cfg.data.dataset, cfg.net.hidden, cfg.features, cfg.learning_rate) == ("xor", (3,), ("x1", "x2", "x1x2"), 0.1)
    assert app.selectbox(key="pg_data").disabled and app.number_input(key="pg_n0_1").disabled
    assert not app.selectbox(key="pg_lr").disabled
    assert "batch_size=99" in app.warning[0].value
    assert "dataset=xor" in app.get("code")[0].value  # the share box encodes what is on show
