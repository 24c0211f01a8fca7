"""The code export: model.py for every architecture, predict.py against the app, train.py for an epoch."""
import ast
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from exporttools import fake_run, shipped_run
from nets.engine.config import TrainConfig
from nets.engine.models import MODELS, build_model
from nets.engine.netspec import from_text
from nets.experiment import run_training
from nets.export import ExportError
from nets.export.code import code_zip, scripts
from nets.export.model_source import check_source, model_source
from nets.inspect.imageio import read_image
from nets.inspect.preprocess import preprocess, style_for
from nets.runs import Run, get_run, load_model

SAMPLES = Path(__file__).resolve().parent.parent / "assets" / "samples"
# Every architecture, with the options that change its layers or its forward pass.
ARCHITECTURES = [
    ("mlp", (1, 28, 28), dict(hidden=(32, 16), activation="leaky_relu", batch_norm=True, dropout=0.1)),
    ("mlp", (512, 1, 1), dict(hidden=(8,), activation="tanh")),
    ("lenet", (1, 28, 28), dict(batch_norm=True, activation="sigmoid")),
    ("cnn5", (3, 32, 32), dict(channels=(4, 8), fc=(16,), batch_norm=True, activation="gelu", dropout=0.2)),
    ("gated-cnn", (1, 28, 28), dict(channels=(4, 8), fc=(16, 12), activation="linear")),
    ("resnet18", (3, 16, 16), dict()),  # the small stem
    ("resnet18", (1, 16, 16), dict(small_stem=False, input_size=40, dropout=0.2, block_dropout=0.1, train_blocks=2)),
    ("resnet34", (3, 8, 8), dict()),
    ("airbench", (1, 28, 28), dict(channels=(8, 16, 16), whiten=False, bn_fp32=False)),
    # the builder's: a small ResNet (a stride-2 residual with its 1×1 shortcut, global average pooling) and a
    # network with a gated, a grouped and an average-pooling layer, Dropout2d, BatchNorm1d and an explicit `in`
    ("custom", (3, 16, 16), dict(layers=from_text("conv_8_k3_p1_nobias,batchnorm,relu,residual_8,residual_16_s2,"
                                                  "gap,flatten,linear"))),
    ("custom", (1, 28, 28), dict(layers=from_text("conv_8_k3_p1,gelu,gated_8_tanh,conv_16_k3_g4_nobias,batchnorm,"
                                                  "avgpool_2,dropout2d_0.3,maxpool_3_s2_p1,flatten,linear_32_i576,"
                                                  "batchnorm,leaky_relu,dropout_0.2,linear"))),
]


def unzip(exported, into: Path) -> Path:
    zipfile.ZipFile(io.BytesIO(exported.data)).extractall(into)
    (folder,) = into.iterdir()
    return folder


def run_script(folder: Path, *args) -> str:
    """A script of the export in a fresh interpreter that cannot see this project."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_every_architecture_is_covered():
    assert {name for name, _, _ in ARCHITECTURES} == set(MODELS)


@pytest.mark.parametrize("name,shape,options", ARCHITECTURES, ids=lambda v: v if isinstance(v, str) else None)
def test_model_py_loads_the_weights_strictly_and_computes_the_same(name, shape, options):
    cfg = TrainConfig(model=name, **options)
    source = model_source({"config": cfg.to_dict(), "input_shape": list(shape), "num_classes": 7})
    ast.parse(source)
    torch.manual_seed(0)
    reference = build_model(name, shape, 7, **cfg.model_kwargs()).eval()
    net = check_source(source, reference.state_dict())  # load_state_dict(strict=True)
    assert list(net.state_dict()) == list(reference.state_dict())
    x = torch.randn(3, *shape)
    with torch.no_grad():
        torch.testing.assert_close(net(x), reference(x), rtol=0, atol=1e-6)
    if name == "custom":  # each line names its layer as the builder does
        assert "#  0 Conv 1: → 8×" in source and "Your network (from the builder)" in source


def test_a_pretrained_resnet_is_written_with_imagenet_stem():
    cfg = TrainConfig(model="resnet18", pretrained=True, train_blocks=1)
    source = model_source({"config": cfg.to_dict(), "input_shape": [3, 32, 32], "num_classes": 10})
    reference = build_model("resnet18", (3, 32, 32), 10, small_stem=False)  # its layout, without downloading
    check_source(source, reference.state_dict())
    assert "kernel_size=7" in source


def test_predict_py_gives_the_apps_logits(tmp_path):
    run = shipped_run(tmp_path)
    exported = code_zip(run)
    assert exported.file_name == "lenet-mnist-mini-pytorch.zip"
    folder = unzip(exported, tmp_path / "out")
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert names == ["README.md", "data/mnist_mini.npz", "example.png", "model.py", "predict.py",
                     "requirements.txt", "run.json", "train.py", "weights.pt"]
    assert "pickle" not in (folder / "model.py").read_text() and "nets." not in (folder / "predict.py").read_text()
    pictures = [folder / "example.png"] + [SAMPLES / n for n in ("digit-3.png", "ink-5.png", "photo-3.png",
                                                                  "transparent-2.png")]
    results = json.loads(run_script(folder, "predict.py", *map(str, pictures), "--json"))
    model = load_model(run)
    shape = run.info["input_shape"]
    for picture, result in zip(pictures, results):
        image = read_image(picture.read_bytes(), filename=picture.name).image
        prepared = preprocess(image, shape, run.info["mean"], run.info["std"], style_for(shape, run.config.dataset))
        with torch.no_grad():
            app = model(prepared.x)[0]
        torch.testing.assert_close(torch.tensor(result["logits"]), app, rtol=0, atol=1e-5)
        assert len(result["top"]) == 5 and result["top"][0][0] == run.info["classes"][int(app.argmax())]
    assert results[1]["top"][0][0] == "3"


def test_predict_py_photo_style_matches_the_app(tmp_path):
    cfg = TrainConfig(dataset="cifar10", model="cnn5", channels=(4, 8), fc=(16,), batch_norm=True)
    run = fake_run(tmp_path / "ckpt", cfg, (3, 32, 32), ["plane", "car", "bird"])
    folder = unzip(code_zip(run), tmp_path / "out")
    assert not (folder / "data").exists() and "torchvision" in (folder / "requirements.txt").read_text()
    pictures = [SAMPLES / "photo-3.png", SAMPLES / "transparent-2.png"]
    results = json.loads(run_script(folder, "predict.py", *map(str, pictures), "--json", "--top", "2"))
    model = load_model(run)
    for picture, result in zip(pictures, results):
        prepared = preprocess(read_image(picture.read_bytes()).image, (3, 32, 32), run.info["mean"],
                              run.info["std"], "photo")
        with torch.no_grad():
            torch.testing.assert_close(torch.tensor(result["logits"]), model(prepared.x)[0], rtol=0, atol=1e-5)
        assert len(result["top"]) == 2


def test_train_py_runs_an_epoch_on_the_bundled_data_and_beats_chance(tmp_path):
    cfg = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(32,), optimizer="adam", lr=2e-3, epochs=1,
                      batch_size=32, train_per_class=150, val_fraction=0.1, augment=("crop",), schedule="cosine",
                      name="tiny mlp")
    run = get_run(tmp_path / "ckpt", run_training(cfg, checkpoints=tmp_path / "ckpt").run_id)
    folder = unzip(code_zip(run), tmp_path / "out")
    assert folder.name == "tiny-mlp"
    out = run_script(folder, "train.py", "--epochs", "1")
    accuracy = float(re.search(r"test accuracy ([0-9.]+); weights saved", out).group(1))
    assert accuracy > 0.3, out  # chance is 0.1
    state = torch.load(folder / "trained.pt", weights_only=True)
    check_source((folder / "model.py").read_text(), state)


@pytest.mark.parametrize("changes", [
    dict(dataset="cifar10", model="cnn5", augment=("crop", "flip", "affine", "jitter", "sharpness", "grayscale"),
         schedule="step", optimizer="sgd", nesterov=True, loss="mse"),
    dict(dataset="folder", folder="/data/leaves", model="resnet18", pretrained=True, train_blocks=2,
         input_size=224, optimizer="adamw", val_fraction=0.2, train_fraction=0.5, clip_grad=1.0, patience=3),
    dict(dataset="fashion-mnist", model="gated-cnn", optimizer="rmsprop", train_per_class=100, augment=("rotate",)),
])
def test_train_py_is_valid_python_for_every_data_source_and_option(changes):
    cfg = replace(TrainConfig(), **changes)
    shape = [3, 32, 32] if cfg.dataset in ("cifar10", "folder") else [1, 28, 28]
    run = Run("r", Path("/nowhere"), {"config": cfg.to_dict(), "input_shape": shape, "num_classes": 3,
                                      "classes": ["a", "b", "c"], "mean": [0.5] * shape[0], "std": [0.2] * shape[0]})
    files = scripts(run, None, None)
    for name in ("train.py", "predict.py"):
        compile(files[name], name, "exec")
    train = files["train.py"]
    assert "{{" not in train and "#%" not in train
    if cfg.pretrained:
        assert "load_imagenet_weights(model)" in train and "freeze_all_but_last_blocks" in train
        assert "AdamW(params, lr=0.01, weight_decay=0.0)" in train
    if cfg.augment:
        assert "def augmentation" in train


def test_what_cannot_be_exported_says_what_can(tmp_path):
    head = fake_run(tmp_path / "ckpt", TrainConfig(backbone="resnet34", model="mlp", hidden=(8,)), (512, 1, 1))
    with pytest.raises(ExportError, match="frozen resnet34 features.*CSV.*ONNX"):
        code_zip(head)
    run = shipped_run(tmp_path)
    run.weights_path.unlink()
    with pytest.raises(ExportError, match="no saved weights"):
        code_zip(run)
