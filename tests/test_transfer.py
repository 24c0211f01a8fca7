"""ResNet transfer learning: ImageNet weights, freezing, frozen features with a cache, the head."""
from dataclasses import replace

import pytest
import torch
from torchvision import models

from nets.engine import frozen_features as features
from nets.engine.config import PRESETS, TrainConfig, validate
from nets.engine.data import DatasetError, load_dataset, make_splits
from nets.engine.models import ModelError, build_model, count_params
from nets.engine.pretrained import weights_path
from nets.engine.events import Converged
from nets.engine.train import fit
from nets.experiment import prepare_data, run_training


@pytest.fixture
def imagenet_weights(tmp_path, monkeypatch):
    """A (random) ResNet-18 state dict where torch's cache keeps the ImageNet file."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    torch.manual_seed(0)
    state = models.resnet18(weights=None).state_dict()
    path = weights_path("resnet18")
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    return state


@pytest.fixture
def tiny():
    return make_splits(load_dataset("mnist-mini"), train_per_class=3)


def test_freezing_trains_exactly_the_chosen_blocks():
    net = build_model("resnet18", (3, 32, 32), 10, train_blocks=2)
    net(torch.randn(2, 3, 32, 32)).sum().backward()
    with_grad = {n.split(".")[0] + "." + n.split(".")[1] if n.startswith("layer") else n.split(".")[0]
                 for n, p in net.named_parameters() if p.grad is not None}
    assert with_grad == {"layer4.0", "layer4.1", "fc"}
    assert all(not p.requires_grad for n, p in net.named_parameters() if n.startswith(("conv1", "layer1")))
    assert count_params(net) == count_params(build_model("resnet18", (3, 32, 32), 10))  # nothing removed
    head_only = build_model("resnet18", (3, 32, 32), 10, train_blocks=0)
    assert count_params(head_only, trainable_only=True) == 512 * 10 + 10


def test_frozen_batch_norm_keeps_its_statistics():
    net = build_model("resnet18", (3, 32, 32), 10, train_blocks=1).train()
    frozen, trained = net.layer1[0].bn1.running_mean.clone(), net.layer4[1].bn1.running_mean.clone()
    net(torch.randn(4, 3, 32, 32))
    assert torch.equal(frozen, net.layer1[0].bn1.running_mean)
    assert not torch.equal(trained, net.layer4[1].bn1.running_mean)


def test_pretrained_weights_and_a_new_head(imagenet_weights):
    net = build_model("resnet18", (3, 32, 32), 10, pretrained=True, input_size=64)
    assert torch.equal(net.layer2[0].conv1.weight, imagenet_weights["layer2.0.conv1.weight"])
    assert net.fc.out_features == 10 and net.conv1.kernel_size == (7, 7)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)  # resized to 64 inside the model
    grey = build_model("resnet18", (1, 28, 28), 10, pretrained=True)
    assert torch.allclose(grey.conv1.weight, imagenet_weights["conv1.weight"].sum(1, keepdim=True))


def test_pretrained_missing_offline_is_a_clear_model_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(models.ResNet18_Weights, "get_state_dict",
                        lambda self, **kw: (_ for _ in ()).throw(OSError("no network")))
    with pytest.raises(ModelError, match="resnet18-f37072fd.pth"):
        build_model("resnet18", (3, 32, 32), 10, pretrained=True)
    # a run says it in one sentence and what to do; the paths and the raw error are in the details
    cfg = TrainConfig(model="resnet18", pretrained=True, train_blocks=0, epochs=1, train_per_class=1)
    with pytest.raises(DatasetError) as e:
        run_training(cfg, checkpoints=tmp_path / "ck")
    assert str(e.value) == ("The ImageNet weights for resnet18 are not on this machine and could not be "
                            "downloaded. Upload a .pth state dict on the Pretrained ResNets page, or train once "
                            "while online so that they download.")
    assert "resnet18-f37072fd.pth" in e.value.details and "no network" in e.value.details
    head = replace(PRESETS["resnet34-features-head"], dataset="mnist-mini", backbone="resnet18")
    with pytest.raises(DatasetError, match="^The ImageNet weights for resnet18 are not") as e:
        prepare_data(head, tmp_path / "data")
    assert str(tmp_path) in e.value.details


def test_block_dropout_only_while_training():
    net = build_model("resnet18", (3, 32, 32), 10, block_dropout=0.5)
    x = torch.randn(2, 3, 32, 32)
    net.eval()
    assert torch.equal(net(x), net(x))
    net.train()
    assert not torch.equal(net(x), net(x))


def test_feature_cache_hit_and_invalidation(imagenet_weights, tiny, tmp_path, monkeypatch):
    cache = tmp_path / "features"
    reports = []
    first = features.features_dataset(tiny, "resnet18", cache, input_size=32, batch_size=16,
                                      on_progress=lambda text, f: reports.append((text, f)))
    assert first.x_train.shape == (30, 512, 1, 1) and first.scale == 1.0 and len(list(cache.iterdir())) == 1
    total = len(tiny.x_train) + len(tiny.x_test)
    assert reports[0] == (f"Extracting frozen resnet18 features: 16 of {total:,} images", 16 / total)
    assert reports[-1][1] == 1.0 and [f for _, f in reports] == sorted(f for _, f in reports)
    real_extract = features.extract
    monkeypatch.setattr(features, "extract", lambda *a, **k: pytest.fail("extracted again"))
    again = features.features_dataset(tiny, "resnet18", cache, input_size=32)
    assert torch.equal(first.x_train, again.x_train)
    monkeypatch.setattr(features, "extract", real_extract)
    features.features_dataset(make_splits(load_dataset("mnist-mini"), train_per_class=4), "resnet18", cache,
                              input_size=32)  # other images
    features.features_dataset(tiny, "resnet18", cache, input_size=40)  # other preprocessing
    torch.save({k: v + 1 if v.is_floating_point() else v for k, v in imagenet_weights.items()},
               weights_path("resnet18"))  # other weights
    features.features_dataset(tiny, "resnet18", cache, input_size=32)
    assert len(list(cache.iterdir())) == 4


def test_the_head_trains_on_features_as_a_normal_run(imagenet_weights, tmp_path):
    cfg = replace(PRESETS["resnet34-features-head"], dataset="mnist-mini", backbone="resnet18",
                  train_per_class=10, input_size=32, epochs=3, converge_patience=0, lr=0.05)
    validate(cfg)
    s = run_training(cfg, data_dir=tmp_path / "data", checkpoints=tmp_path / "ck")
    assert s.status == "completed" and s.best_test_acc > 0.1
    assert (tmp_path / "data" / "features").is_dir()
    data = prepare_data(cfg, tmp_path / "data")
    assert data.input_shape == (512, 1, 1)


def test_convergence_rule_stops_a_flat_loss(tiny):
    cfg = TrainConfig(model="mlp", hidden=(8,), lr=1e-9, epochs=20, converge_patience=2, converge_delta=1e-3)
    events = []
    result = fit(build_model("mlp", (1, 28, 28), 10, hidden=(8,)), tiny, cfg, events.append)
    assert [e for e in events if isinstance(e, Converged)] == [Converged(3, 2, 1e-3)]
    assert result.finished.reason == "converged"


def test_recipes_round_trip_and_validate():
    for name in ("resnet18-scratch", "resnet18-finetune", "resnet34-features-head"):
        cfg = PRESETS[name]
        assert TrainConfig.from_dict(cfg.to_dict()) == validate(cfg)
    scratch = PRESETS["resnet18-scratch"]
    assert (scratch.optimizer, scratch.lr, scratch.weight_decay, scratch.schedule, scratch.clip_grad,
            scratch.patience, scratch.batch_size) == ("sgd", 0.01, 1e-4, "cosine", 0.1, 6, 128)
    # the offline version differs only in its data, the stem and the epochs
    mini = PRESETS["resnet18-scratch-mini"]
    assert replace(mini, dataset=scratch.dataset, small_stem=scratch.small_stem, epochs=scratch.epochs) == scratch
    assert (mini.dataset, mini.small_stem, mini.epochs) == ("fashion-mnist-mini", False, 10)
    validate(mini)
