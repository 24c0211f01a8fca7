import pytest
import torch
from streamlit.testing.v1 import AppTest
from torchvision import models

from nets.engine.config import TrainConfig
from nets.engine.pretrained import weights_path
from nets.runs import create_run


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(tmp_path / "ck"))
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page("pages/transfer.py").run()
    assert not at.exception
    return at


def test_missing_weights_are_explained_and_recipes_open_train(app):
    assert any("not here yet" in w.value and "resnet18-f37072fd.pth" in w.value for w in app.warning)
    next(b for b in app.button if b.key == "ft_open").click().run()
    assert not app.exception
    assert next(w for w in app.checkbox if w.key == "tw_pretrained").value is True
    assert next(w for w in app.number_input if w.key == "tw_train_blocks").value == 2


def test_features_recipe_opens_train_with_the_backbone(app):
    next(b for b in app.button if b.key == "tr_open_features").click().run()
    assert next(w for w in app.selectbox if w.key == "tw_backbone").value == "resnet34"
    assert next(w for w in app.text_input if w.key == "tw_hidden").value == "256,128"
    assert any("165,514 parameters" in m.value for m in app.markdown)  # (512+1)·256 + (256+1)·128 + (128+1)·10


def test_finetune_plan_table(app):
    app.slider(key="ft_k").set_value(1).run()
    plan = app.dataframe[0].value if app.dataframe[0].value.shape[0] > 3 else app.dataframe[1].value
    assert list(plan.loc[plan["trains"], "part"]) == ["layer4.1", "fc (new head)"]


def test_installed_weights_show_as_ready(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    path = weights_path("resnet18")
    path.parent.mkdir(parents=True)
    torch.save(models.resnet18(weights=None).state_dict(), path)
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page("pages/transfer.py").run()
    assert any("resnet18" in s.value and "ready" in s.value for s in at.success)


def test_recipes_default_to_bundled_data_and_cifar_says_it_downloads(app):
    assert app.selectbox(key="tr_dataset").value == "fashion-mnist-mini" and not app.info
    assert any("Needs the ImageNet weights for resnet34" in c.value for c in app.caption)
    next(b for b in app.button if b.key == "scratch_open").click().run()
    assert not app.exception
    assert next(w for w in app.selectbox if w.key == "tw_dataset").value == "fashion-mnist-mini"
    assert next(w for w in app.number_input if w.key == "tw_epochs").value == 10
    app.switch_page("pages/transfer.py").run()
    app.selectbox(key="tr_dataset").set_value("cifar10").run()
    assert [i.value for i in app.info] == ["CIFAR-10 is not on this machine: the first run downloads about 170 MB. "
                                           "Offline, choose a bundled dataset."]
    next(b for b in app.button if b.key == "sd_open").click().run()
    assert next(w for w in app.selectbox if w.key == "tw_dataset").value == "cifar10"
    assert next(w for w in app.number_input if w.key == "tw_epochs").value == 30



def test_comparison_shows_the_best_cnn_and_the_best_head(tmp_path, monkeypatch):
    ck = tmp_path / "ck"
    for i, (model, backbone, accuracy) in enumerate([
            ("lenet", "", 0.80), ("cnn5", "", 0.85), ("gated-cnn", "", None),     # None: never finished
            ("mlp", "resnet34", 0.83), ("mlp", "resnet18", 0.81),
            ("mlp", "", 0.95), ("resnet18", "", 0.97)]):                          # neither group
        cfg = TrainConfig(dataset="fashion-mnist-mini", model=model, backbone=backbone, name=f"{model}-{i}")
        create_run(ck, cfg, {"test": {"accuracy": accuracy}, "best": {"epoch": i + 1}})
    create_run(ck, TrainConfig(dataset="mnist-mini", model="cnn5", name="other-data"), {"test": {"accuracy": 0.99}})
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ck))
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page("pages/transfer.py").run()
    table = next(d.value for d in at.dataframe if "best epoch" in d.value.columns)
    assert table.to_dict("records") == [
        {"": "best CNN run", "run": "cnn5-1", "test accuracy": 0.85, "best epoch": 2},
        {"": "best frozen-feature head", "run": "mlp-3", "test accuracy": 0.83, "best epoch": 4}]
    at.selectbox(key="tr_dataset").set_value("mnist").run()
    assert not at.exception and any(c.value == "No finished mnist runs yet to compare." for c in at.caption)
