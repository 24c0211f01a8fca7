"""The ONNX export: the file computes the app's logits in onnxruntime, and says clearly when it cannot be made."""
import json

import numpy as np
import pytest
import torch

from exporttools import fake_run, shipped_run
from nets.engine.catalog import BUNDLED
from nets.engine.config import TrainConfig
from nets.engine.data import stats_tensors, to_input
from nets.engine.netspec import from_text
from nets.export import ExportError
from nets.export import result
from nets.export.onnx_export import onnx_file, onnx_missing
from nets.runs import load_model

ort = pytest.importorskip("onnxruntime", reason="onnxruntime checks the ONNX export (requirements-export.txt)")
onnx = pytest.importorskip("onnx")


def onnx_logits(data: bytes, x: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]


def app_logits(run, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return load_model(run)(x).numpy()


def test_the_shipped_run_as_onnx_gives_pytorchs_logits_on_test_images(tmp_path):
    run = shipped_run(tmp_path)
    exported = onnx_file(run)
    assert exported.file_name == "lenet-mnist-mini.onnx" and exported.mime == "application/octet-stream"
    with np.load(BUNDLED["mnist-mini"][0]) as z:
        images = torch.from_numpy(z["x_test"][:7])[:, None]  # a batch of 7: the batch size is free
    x = to_input(images, *stats_tensors(run.info["mean"], run.info["std"], "cpu"))
    np.testing.assert_allclose(onnx_logits(exported.data, x), app_logits(run, x), rtol=0, atol=1e-4)
    model = onnx.load_from_string(exported.data)
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["classes"]) == run.info["classes"] and json.loads(props["mean"]) == run.info["mean"]
    assert [i.name for i in model.graph.input] == ["image"] and [o.name for o in model.graph.output] == ["logits"]
    assert "(x/255 − mean)/std" in model.doc_string


@pytest.mark.parametrize("cfg,shape", [
    (TrainConfig(model="gated-cnn", channels=(4, 8), fc=(16,)), (1, 28, 28)),
    (TrainConfig(dataset="cifar10", model="resnet18", small_stem=False, input_size=40, block_dropout=0.1,
                 dropout=0.2), (3, 20, 20)),
    (TrainConfig(backbone="resnet34", model="mlp", hidden=(16,), batch_norm=True), (512, 1, 1)),
    (TrainConfig(dataset="cifar10", model="custom", layers=from_text(
        "conv_8_k3_p1_nobias,batchnorm,relu,residual_16_s2,conv_16_k3_p1_g4,avgpool_2,gap,flatten,linear")),
     (3, 16, 16)),
], ids=["gated-cnn", "resnet18-hooks", "head-on-features", "custom"])
def test_other_models_as_onnx_match_the_apps_model(tmp_path, cfg, shape):
    run = fake_run(tmp_path / "ckpt", cfg, shape, seed=1)
    exported = onnx_file(run)
    x = torch.randn(3, *shape, generator=torch.Generator().manual_seed(2))
    np.testing.assert_allclose(onnx_logits(exported.data, x), app_logits(run, x), rtol=0, atol=1e-4)
    names = [i.name for i in onnx.load_from_string(exported.data).graph.input]
    assert names == (["features"] if cfg.backbone else ["image"])


def test_without_the_packages_the_message_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(result, "missing_packages", lambda *modules: [m for m in modules if m == "onnxscript"])
    assert onnx_missing() == "ONNX export needs onnxscript: pip install -r requirements-export.txt"
    with pytest.raises(ExportError, match=r"pip install -r requirements-export\.txt"):
        onnx_file(shipped_run(tmp_path))


def test_a_model_the_exporter_refuses_gets_a_plain_message(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("Unsupported operator 'aten::frobnicate'\nlong traceback follows")
    monkeypatch.setattr(torch.onnx, "export", refuse)
    with pytest.raises(ExportError, match=r"could not be written as ONNX \(RuntimeError: Unsupported operator "
                                          r"'aten::frobnicate'\)\. The PyTorch code export"):
        onnx_file(shipped_run(tmp_path))


def test_a_run_without_weights_cannot_be_exported(tmp_path):
    run = shipped_run(tmp_path)
    run.weights_path.unlink()
    with pytest.raises(ExportError, match="no saved weights"):
        onnx_file(run)
