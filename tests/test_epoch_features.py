"""Per-epoch features (nets.runs.epoch_features): what the recorder saves equals a separate forward pass,
taken from the engine's own test evaluation (no pass of its own), and training is not changed by it."""
import numpy as np
import pytest
import torch

from nets.engine.config import TrainConfig
from nets.engine.events import EpochEnd
from nets.engine.models import build_model
from nets.engine.train import fit
from nets.experiment import prepare_data
from nets.runs import create_run
from nets.runs.epoch_features import (MAX_DIM, SUBSET, EpochFeatures, feature_epochs, feature_file,
                                      load_epoch_features, projection_matrix, subset_features)
from nets.runs.recorder import RunRecorder


@pytest.fixture(scope="module")
def data():
    cfg = TrainConfig(dataset="mnist-mini", model="lenet", train_per_class=10, val_fraction=0.2)
    return prepare_data(cfg, download=False)


def _train(ckpt, data, model="lenet", record=True, epochs=2, **changes):
    cfg = TrainConfig(dataset="mnist-mini", model=model, train_per_class=10, val_fraction=0.2, epochs=epochs,
                      batch_size=16, **changes)
    torch.manual_seed(0)
    net = build_model(cfg.model, data.input_shape, data.num_classes, **cfg.model_kwargs())
    run = create_run(ckpt, cfg, {"classes": data.classes, "mean": data.mean, "std": data.std, "scale": data.scale})
    recorder = RunRecorder(run, net, data) if record else RunRecorder(run)
    reference = {}  # per epoch: the subset through the model, by a separate hook, after the recorder

    def on(event):
        recorder(event)
        if isinstance(event, EpochEnd):
            reference[event.epoch] = subset_features(net, data.x_test[:SUBSET], data.mean, data.std, data.scale)

    fit(net, data, cfg, on)
    return run, net, recorder, reference


def test_saved_features_are_the_test_evaluations_and_equal_a_separate_pass(ckpt, data):
    run, net, recorder, reference = _train(ckpt, data)
    assert feature_epochs(run) == [1, 2]
    assert recorder.features.captured_epochs == 2   # both from the engine's evaluation: no extra pass
    assert recorder.features.handles == []          # hooks gone once training finished
    n = min(SUBSET, len(data.x_test))
    for epoch, (feats, preds) in reference.items():
        saved = load_epoch_features(run, epoch)
        assert saved["features"].shape == (n, 320) and not saved["projected"]
        np.testing.assert_allclose(saved["features"], feats, rtol=2e-3, atol=2e-3)  # float16 on disk
        assert (saved["predictions"] == preds).all()
        assert (saved["labels"] == data.y_test[:n].numpy()).all()
    assert not np.array_equal(load_epoch_features(run, 1)["features"], load_epoch_features(run, 2)["features"])


def test_training_is_unchanged_by_the_features(ckpt, data):
    a = _train(ckpt / "a", data, record=True, epochs=1)[1]
    b = _train(ckpt / "b", data, record=False, epochs=1)[1]
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k


def test_wide_features_are_projected_to_512_and_a_lone_record_runs_its_own_pass(ckpt, data):
    cfg = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(600,))
    torch.manual_seed(0)
    net = build_model("mlp", data.input_shape, data.num_classes, **cfg.model_kwargs())
    run = create_run(ckpt, cfg, {"classes": data.classes})
    listener = EpochFeatures(run, net, data, subset=50)
    listener.record(3)  # no evaluation seen: the subset goes through the model here
    saved = load_epoch_features(run, 3)
    feats, preds = subset_features(net, data.x_test[:50], data.mean, data.std, data.scale)
    assert feats.shape == (50, 600) and saved["projected"] and saved["features"].shape == (50, MAX_DIM)
    np.testing.assert_allclose(saved["features"], feats @ projection_matrix(600), rtol=5e-3, atol=5e-3)
    assert (saved["predictions"] == preds).all() and listener.captured_epochs == 0
    listener.close()
    assert not net._forward_pre_hooks and not net._forward_hooks


def test_listing_and_damaged_files(ckpt, data):
    run = create_run(ckpt, TrainConfig(dataset="mnist-mini", model="mlp"), {"classes": data.classes})
    (run.path / feature_file(2)).write_bytes(b"not an npz")
    (run.path / "features-model.npz").write_bytes(b"")  # the projector's cache, not an epoch
    assert feature_epochs(run) == [2]
    assert load_epoch_features(run, 2) is None and load_epoch_features(run, 7) is None


def test_backbone_runs_and_models_without_linear_record_no_features(ckpt, data):
    run = create_run(ckpt, TrainConfig(dataset="mnist-mini", model="mlp"), {"classes": data.classes})
    assert RunRecorder(run, torch.nn.Sequential(torch.nn.Flatten()), data).features is None
