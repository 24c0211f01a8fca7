"""The "Activation maps and Grad-CAM" page in AppTest: the shipped LeNet, ImageNet ResNets with and
without weights, bad uploads."""
import pytest
import torch
from pagetools import open_page, tiny_run
from streamlit.testing.v1 import AppTest
from torchvision import models

from nets.engine.config import TrainConfig
from nets.engine.pretrained import weights_path
from nets.experiment import run_training
from test_page_predictions import many_runs
from nets.text import shown

PAGE = "pages/inside_cnn.py"
BLOCKS = [f"layer{i}.{j}" for i in range(1, 5) for j in range(2)]


def page() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    return at.switch_page(PAGE).run()


def widget(elements, label):
    return next(e for e in elements if e.label.startswith(label))


def headings(at) -> dict[str, str]:
    """'**layer2.1** — 128×28×28' → {'layer2.1': '128×28×28'}"""
    pairs = [m.value.split("** — ") for m in at.markdown if m.value.startswith("**") and "** — " in m.value]
    return {name.strip("*"): shape for name, shape in pairs}


def shown_captions(image) -> list[str]:
    """An image's captions as shown: they are escaped, since they may hold class or file names."""
    return [shown(c) for c in image.captions]


def gradcam_captions(at) -> list[str]:
    return [c for im in at.image for c in shown_captions(im) if c.startswith("Grad-CAM")]


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty torch cache, and no downloads (a machine online would fetch 45 MB)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    enum = models.ResNet18_Weights.IMAGENET1K_V1
    monkeypatch.setattr(type(enum), "get_state_dict",
                        lambda self, **kw: (_ for _ in ()).throw(OSError("no network in tests")))
    return tmp_path


def imagenet(at: AppTest) -> AppTest:
    return widget(at.radio, "Model").set_value("ImageNet-pretrained ResNet").run()


def test_shipped_lenet_shows_grids_and_grad_cam():
    at = page()
    assert not at.exception and not at.error
    assert widget(at.selectbox, "Saved run").value == "lenet-mnist-mini"
    assert headings(at) == {"conv1 (model[0:3]: Conv2d 1→10 5×5 → MaxPool2d → ReLU)": "10×12×12",
                            "conv2 (model[3:7]: Conv2d 10→20 5×5 → MaxPool2d → ReLU)": "20×4×4"}
    grids = [im for im in at.image if shown_captions(im)[0].startswith("Top ")]
    assert [shown_captions(im)[0].split(":")[0] for im in grids] == ["Top 10 of 10 channels", "Top 16 of 20 channels"]
    cams = gradcam_captions(at)
    assert len(cams) == 2 and cams[0].startswith("Grad-CAM for the predicted class 6")   # test digit 0 is a 6
    assert "nothing speaks" not in cams[0]
    widget(at.number_input, "Test image").set_value(1).run()
    assert not at.exception and at.metric[0].value == "7"
    widget(at.selectbox, "Compare with class").set_value(3).run()
    assert not at.exception and gradcam_captions(at)[1].startswith("Grad-CAM for the chosen class 3")
    widget(at.select_slider, "Channels shown per layer").set_value(4).run()
    assert [shown_captions(im)[0].split(":")[0] for im in at.image if shown_captions(im)[0].startswith("Top ")] == \
        ["Top 4 of 10 channels", "Top 4 of 20 channels"]


def test_imagenet_without_weights_says_where_to_put_them(torch_home):
    at = imagenet(page())
    assert not at.exception
    message = shown(at.error[0].value)
    assert "resnet18-f37072fd.pth" in message and str(torch_home / "hub" / "checkpoints") in message
    assert not headings(at)


def test_imagenet_resnet18_shows_every_block(torch_home):
    torch.manual_seed(0)
    path = weights_path("resnet18")
    path.parent.mkdir(parents=True)
    torch.save(models.resnet18(weights=None).state_dict(), path)
    at = imagenet(page())
    assert not at.exception and not at.error
    shapes = headings(at)
    assert list(shapes) == ["stem (conv1·bn1·relu·maxpool)"] + BLOCKS
    assert shapes["stem (conv1·bn1·relu·maxpool)"] == "64×56×56" and shapes["layer4.1"] == "512×7×7"
    assert len(gradcam_captions(at)) == 2
    assert any("on **layer4.1** (512×7×7)" in c.value for c in at.caption)


def test_bad_uploads_show_errors(torch_home):
    at = imagenet(page())
    widget(at.file_uploader, "Or use your own ImageNet weights").set_value(
        ("weights.pth", b"not a checkpoint", "application/octet-stream")).run()
    assert not at.exception and "not a readable PyTorch weights file" in shown(at.error[0].value)
    at = page()
    widget(at.radio, "Image").set_value("Upload").run()
    assert not at.exception and at.info
    widget(at.file_uploader, "Upload a PNG").set_value(("x.png", b"garbage", "image/png")).run()
    assert not at.exception and "x.png: This file is not a PNG" in shown(at.error[0].value)
    assert not headings(at)


def test_a_run_without_convolutions_is_explained(ckpt, monkeypatch):
    mlp = tiny_run(ckpt, "mlp-run")
    at = open_page(PAGE, ckpt, monkeypatch, {"selected_run": mlp})   # an MLP chosen on Predictions
    assert "No saved run of a convolutional network yet" in at.info[0].value and not headings(at)
    lenet = run_training(TrainConfig(model="lenet", train_per_class=5, epochs=1, name="lenet-run"),
                         checkpoints=ckpt).run_id
    at = open_page(PAGE, ckpt, monkeypatch, {"selected_run": mlp})
    assert widget(at.selectbox, "Saved run").value == lenet and headings(at)  # the MLP is not offered


def test_a_builder_network_without_convolutions_is_explained(ckpt, monkeypatch):
    from nets.engine.netspec import from_text
    flat = run_training(TrainConfig(model="custom", layers=from_text("flatten,linear_16,relu,linear"),
                                    train_per_class=5, epochs=1, name="flat-run"), checkpoints=ckpt).run_id
    at = open_page(PAGE, ckpt, monkeypatch, {"selected_run": flat})  # custom is offered: it may have convolutions
    assert not at.exception and "flat-run has no convolution" in shown(at.info[0].value) and not headings(at)


def test_search_finds_a_run_older_than_the_newest_50(ckpt, monkeypatch):
    shipped = many_runs(ckpt)
    at = open_page(PAGE, ckpt, monkeypatch, {"selected_run": "filler-59"})   # chosen on another page
    assert widget(at.selectbox, "Saved run").value == "filler-59" and headings(at)
    assert "lenet-mnist-mini" not in str(widget(at.selectbox, "Saved run").options)  # not in the newest 50
    at.text_input(key="inside_cnn_run_search").set_value("lenet-mnist").run()
    picker = widget(at.selectbox, "Saved run")
    assert not at.exception and picker.value == shipped and len(picker.options) == 1
    assert any(shown(m.value).startswith("**lenet-mnist-mini** on a 1×28×28 input") for m in at.markdown)
    assert at.metric[0].value == "6"          # test digit 0, as with the shipped folder
