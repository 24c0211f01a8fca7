"""The Build page in AppTest: add layers, fix a problem in one click, hand the network to Train, an exercise's
predict-then-reveal, hostile text in the paste box."""
import pytest
from streamlit.testing.v1 import AppTest

from nets.engine import netspec
from nets.engine.netbuild import template
from nets.text import shown


def build_page(state=None) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    for k, v in (state or {}).items():
        at.session_state[k] = v
    at.switch_page("pages/build.py").run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def at(ckpt, monkeypatch):
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    return build_page()


def add(at: AppTest, kind: str) -> AppTest:
    at.selectbox(key="builder_add_type").select(kind).run()
    at.button(key="builder_add").click().run()
    assert not at.exception, at.exception
    return at


def summary(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "classes" in m.value)


def test_from_empty_flatten_and_linear_is_logistic_regression(at):
    assert "No layers yet" in shown(at.error[0].value)
    assert at.button(key="builder_train").disabled
    add(add(at, "flatten"), "linear")
    table = at.dataframe[0].value
    assert list(table["layer"]) == ["Flatten 1", "Linear 1"] and table["parameters"].sum() == 7850
    assert "**7,850 parameters**" in summary(at) and "✓" in summary(at)
    assert not at.error and not at.button(key="builder_train").disabled
    assert any("(784+1)·10 = 7,850" in shown(c.value) for c in at.caption)  # the selected layer's formula
    at.button(key="builder_undo_btn").click().run()  # back to Flatten alone
    assert list(at.dataframe[0].value["layer"]) == ["Flatten 1"]


def test_a_deleted_flatten_is_named_and_fixed_in_one_click(ckpt, monkeypatch):
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    lenet = template("lenet", (1, 28, 28))
    at = build_page({"builder_layers": lenet})
    flatten = netspec.labels(lenet).index("Flatten 1")
    at.selectbox(key="builder_pick").select(flatten).run()
    at.button(key="builder_delete").click().run()
    assert "Flatten" not in " ".join(at.dataframe[0].value["layer"])
    error = shown(at.error[0].value)
    assert error.startswith("Linear 1") and "flat vector" in error
    fixes = [b for b in at.button if b.key and b.key.startswith("builder_fix_")]
    assert "Flatten" in fixes[0].label
    fixes[0].click().run()
    assert not at.error and tuple(at.session_state["builder_layers"]) == lenet
    assert "**8,490 parameters**" in summary(at)


def test_train_this_network_fills_the_train_form(at):
    at.selectbox(key="builder_start").select("lenet").run()
    at.button(key="builder_train").click().run()
    assert not at.exception, at.exception
    cfg = at.session_state["train_cfg"]
    assert cfg["model"] == "custom" and cfg["dataset"] == "mnist-mini" and cfg["batch_size"] == 64
    assert netspec.to_text(cfg["layers"]) == netspec.to_text(template("lenet", (1, 28, 28)))


def test_an_exercise_asks_first_then_reveals_and_checks_live(at):
    at.selectbox(key="builder_ex_pick").select("smaller").run()
    at.button(key="builder_ex_go").click().run()
    assert at.selectbox(key="builder_dataset").value == "cifar10"
    assert "**497,738 parameters**" in summary(at)
    at.radio(key="builder_predict").set_value("lenet").run()
    assert not any("MLP's" in c.value for c in at.caption)  # nothing revealed before Reveal
    at.button(key="builder_reveal").click().run()
    assert "The answer: The MLP" in at.info[0].value
    assert any("100,480" in m.value for m in at.markdown)
    assert any("still 103,104 more than the MLP's 394,634" in c.value for c in at.caption)  # the live check


def test_hostile_text_in_the_paste_box_gives_a_message(at):
    said = {}
    for text in ("convv_3,relu", "conv_99999", "<img src=x onerror=alert(1)>**bold**", "relu," * 100):
        at.text_input(key="builder_paste").input(text).run()
        at.button(key="builder_load").click().run()
        assert not at.exception, at.exception
        said[text] = shown(at.error[0].value)
        assert said[text].startswith("That text is not a network"), text
    assert "did you mean conv" in said["convv_3,relu"] and "2048" in said["conv_99999"]
    assert "<img src=x" in said["<img src=x onerror=alert(1)>**bold**"]  # quoted as text, not drawn
    assert "builder_layers" not in at.session_state  # nothing was loaded
    at.text_input(key="builder_paste").input("conv_6_k5_p2,relu,maxpool_2,flatten,linear").run()
    at.button(key="builder_load").click().run()
    assert list(at.dataframe[0].value["layer"])[:2] == ["Conv 1", "ReLU 1"]


def test_a_lesson_link_opens_its_network_and_names_what_it_got_wrong(ckpt, monkeypatch):
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.query_params.update({"lesson": "1", "dataset": "cifar10", "layers": "conv_8_k3,relu,flatten,linear",
                            "exercise": "<b>nope</b>"})
    at.switch_page("pages/build.py").run()
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["layer"]) == ["Conv 1", "ReLU 1", "Flatten 1", "Linear 1"]
    assert at.selectbox(key="builder_dataset").value == "cifar10"
    assert at.selectbox(key="builder_start").value == "yours"
    assert "exercise" in shown(at.warning[0].value) and "<b>nope</b>" in shown(at.warning[0].value)


def test_a_saved_run_opens_in_the_builder_from_runs(ckpt, monkeypatch):
    from pagetools import open_page

    from nets.engine.config import TrainConfig
    from nets.experiment import run_training
    layers = netspec.from_text("conv_4_k3_p1,relu,maxpool_2,flatten,linear")
    run = run_training(TrainConfig(model="custom", layers=layers, train_per_class=5, epochs=1, name="mine"),
                       checkpoints=ckpt).run_id
    at = open_page("pages/runs.py", ckpt, monkeypatch, {"selected_run": run})
    at.button(key=f"to_builder_{run}").click().run()
    assert not at.exception, at.exception
    assert at.session_state["builder_layers"] == layers and "mine" not in str(at.session_state["builder_layers"])
    assert any("Build a network" in t.value for t in at.title)
