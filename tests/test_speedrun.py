"""The CIFAR-10 speed runs' tricks as switches of the engine, each against a reference: patch whitening,
Dirac initialisation, alternating flip, 2-pixel translation, test-time augmentation, label smoothing,
Lookahead, the per-parameter learning rates and the triangle schedule; then a small airbench run."""
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nets.engine.airbench import Airbench, airbench, patch_covariance, whitening_filters
from nets.engine.augment import augment, flip_alt, translate
from nets.engine.config import PRESETS, ConfigError, TrainConfig, validate
from nets.engine.data import ImageData
from nets.engine.evaluate import predict_logits, tta_views
from nets.engine.init import apply_init
from nets.engine.losses import compute_loss
from nets.engine.models import build_model, count_params
from nets.engine.optim import Lookahead, make_optimizer, triangle


def _correlated_images(n=200, c=3, side=12, seed=0):
    """Images whose channels and neighbouring pixels are strongly correlated, as photographs are."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, side + 2, side + 2, generator=g)
    x = F.avg_pool2d(x, 3, 1)                                      # neighbours share most of their value
    mix = torch.tensor([[1.0, 0.8, 0.6], [0.0, 0.5, 0.4], [0.0, 0.0, 0.3]])[:c, :c]
    return torch.einsum("dc,nchw->ndhw", mix, x) * 3 + 0.5


def test_whitening_filters_give_patches_identity_covariance():
    x = _correlated_images()
    cov = patch_covariance(x, 2)
    assert cov.shape == (12, 12) and (cov - torch.eye(12, dtype=cov.dtype)).abs().max() > 0.5  # far from white
    filters = whitening_filters(x, 2, eps=0.0)
    assert filters.shape == (24, 3, 2, 2)
    assert torch.equal(filters[12:], -filters[:12])               # each filter and its negative
    out = F.conv2d(x.double(), filters[:12].double())             # one number per patch and filter
    rows = out.permute(0, 2, 3, 1).reshape(-1, 12)
    torch.testing.assert_close(rows.T @ rows / len(rows), torch.eye(12, dtype=torch.float64), atol=2e-4, rtol=0)


def _image_data(x_float: torch.Tensor, classes=10) -> ImageData:
    x = (x_float.clamp(0, 1) * 255).round().to(torch.uint8)
    y = torch.arange(len(x)) % classes
    return ImageData("t", [str(i) for i in range(classes)], x, y, x[:20], y[:20],
                     mean=[0.5] * x.shape[1], std=[0.25] * x.shape[1])


def test_airbench_prepare_sets_the_frozen_first_layer_from_the_training_images():
    data = _image_data(torch.rand(64, 3, 16, 16, generator=torch.Generator().manual_seed(1)))
    net = airbench((3, 16, 16), 10, channels=(8, 8, 8))
    assert isinstance(net, Airbench) and not net[0].weight.requires_grad and net[0].bias.requires_grad
    net.prepare(data)
    expected = whitening_filters((data.x_train.float() / 255 - 0.5) / 0.25, 2)
    torch.testing.assert_close(net[0].weight, expected)
    assert not net[0].bias.any()
    trainable = airbench((3, 16, 16), 10, channels=(8, 8, 8), whiten=False)
    before = trainable[0].weight.clone()
    trainable.prepare(data)                                       # whiten off: a trainable layer keeps its draw
    assert trainable[0].weight.requires_grad and torch.equal(trainable[0].weight, before)


def test_airbench_network_shapes_parameters_and_options():
    net = build_model("airbench", (3, 32, 32), 10)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert count_params(net) == 1_972_792 and count_params(net) - count_params(net, trainable_only=True) == 1_440
    assert build_model("airbench", (1, 28, 28), 10, channels=(8, 16, 16))(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    bns = [m for m in net if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == 6 and all(not m.weight.requires_grad and m.momentum == 0.4 for m in bns)
    assert all(type(m) is nn.BatchNorm2d and m._forward_pre_hooks for m in bns)  # PyTorch's own layer, fp32 by hooks
    assert not build_model("airbench", (3, 32, 32), 10, bn_fp32=False)[4]._forward_pre_hooks
    with pytest.raises(Exception, match="three channel counts"):
        build_model("airbench", (3, 32, 32), 10, channels=(8, 8))
    with pytest.raises(Exception, match="at least 9×9"):
        build_model("airbench", (3, 8, 8), 10)
    with pytest.raises(ConfigError, match="has no option"):
        validate(TrainConfig(model="cnn5", whiten=False))
    validate(TrainConfig(model="airbench", whiten=False, bn_fp32=False, channels=(8, 8, 8)))


def test_bn_fp32_computes_in_float32_and_gives_autocast_its_type_back():
    bn = build_model("airbench", (3, 16, 16), 10, channels=(4, 4, 4))[4]
    seen = []
    bn.register_forward_pre_hook(lambda m, args: seen.append(args[0].dtype))  # after the cast to float32
    x = torch.randn(4, 4, 7, 7).bfloat16()
    assert bn(x).dtype == torch.float32 and seen == [torch.float32]            # no autocast: float32 out
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert bn(x).dtype == torch.bfloat16 and seen[-1] == torch.float32


def test_dirac_init_makes_a_convolution_an_identity_map():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(6, 6, 3, padding=1), nn.Conv2d(4, 8, 3, padding=1, bias=False), nn.Linear(3, 3))
    linear = model[2].weight.clone()
    wide = model[1].weight[4:].clone()
    apply_init(model, "dirac")
    x = torch.randn(2, 6, 9, 9)
    with torch.no_grad():
        torch.testing.assert_close(model[0](x), x)                         # in = out: the identity
        torch.testing.assert_close(model[1](x[:, :4])[:, :4], x[:, :4])    # the first 4 of 8 pass through
    assert torch.equal(model[1].weight[4:], wide) and torch.equal(model[2].weight, linear)  # the rest as drawn


def test_alternating_flip_covers_both_orientations_over_two_epochs():
    x = torch.rand(64, 3, 8, 8)
    idx = torch.arange(100, 164)
    g = torch.Generator().manual_seed(3)
    one, two, three = (flip_alt(x, g, epoch, idx) for epoch in (1, 2, 3))
    flipped = torch.tensor([torch.equal(a, b) for a, b in zip(one, x.flip(-1))])
    kept = torch.tensor([torch.equal(a, b) for a, b in zip(one, x)])
    assert (flipped ^ kept).all() and 16 < flipped.sum() < 48      # a random half mirrored in the first epoch
    assert torch.equal(two, torch.where(flipped.view(-1, 1, 1, 1), x, x.flip(-1)))  # each the other way next
    assert torch.equal(three, one)
    perm = torch.randperm(64)                                      # an image's orientation follows its index
    assert torch.equal(flip_alt(x[perm], g, 1, idx[perm]), one[perm])
    assert torch.equal(augment(x, ["flip_alt"], g, 2, idx), two)
    other = flip_alt(x, torch.Generator().manual_seed(4), 1, idx)
    assert not torch.equal(other, one)                             # which half: the seed's


def test_the_engine_gives_the_augmentation_the_epoch(monkeypatch):
    from nets.engine import train as engine
    seen = []
    real = engine.augment
    monkeypatch.setattr(engine, "augment", lambda x, names, g, epoch, idx: seen.append((epoch, len(idx))) or
                        real(x, names, g, epoch, idx))
    data = _image_data(torch.rand(40, 1, 12, 12))
    engine.fit(build_model("mlp", (1, 12, 12), 10, hidden=(8,)), data,
               TrainConfig(model="mlp", hidden=(8,), epochs=2, batch_size=20, augment=("flip_alt",), stats_every=0))
    assert seen == [(1, 20), (1, 20), (2, 20), (2, 20)]


def test_translate_is_a_window_of_the_mirrored_border_at_most_two_pixels_away():
    x = torch.rand(32, 3, 10, 10)
    y = translate(x, torch.Generator().manual_seed(0))
    padded = F.pad(x, (2, 2, 2, 2), mode="reflect")
    shifts = set()
    for i in range(len(x)):
        found = [(dy, dx) for dy in range(5) for dx in range(5) if torch.equal(y[i], padded[i, :, dy:dy + 10, dx:dx + 10])]
        assert found, i
        shifts.add(found[0])
    assert len(shifts) > 8


def test_test_time_augmentation_is_the_weighted_mean_of_its_views():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5)).eval()
    x = (torch.rand(6, 3, 8, 8) * 255).to(torch.uint8)
    mean, std = [0.5] * 3, [0.25] * 3
    xn = (x.float() / 255 - 0.5) / 0.25
    with torch.no_grad():
        plain = predict_logits(model, x, mean, std, tta=0)
        torch.testing.assert_close(plain, model(xn))
        torch.testing.assert_close(predict_logits(model, x, mean, std, tta=1), (model(xn) + model(xn.flip(-1))) / 2)
        views = tta_views(xn, 2)
        assert len(views) == 6 and sum(w for w, _ in views) == 1
        padded = F.pad(xn, (1, 1, 1, 1), mode="reflect")
        assert any(torch.equal(v, padded[..., :8, :8]) for _, v in views)
        assert any(torch.equal(v, padded[..., 2:, 2:].flip(-1)) for _, v in views)
        # weighted as airbench94: half the plain pair, half the shifted pairs
        expected = ((model(xn) + model(xn.flip(-1))) / 4
                    + sum(model(v) + model(v.flip(-1)) for v in (padded[..., :8, :8], padded[..., 2:, 2:])) / 8)
        torch.testing.assert_close(predict_logits(model, x, mean, std, batch_size=4, tta=2), expected)


def test_fit_applies_test_time_augmentation_after_the_last_epoch_only(monkeypatch):
    from nets.engine import train as engine
    asked = []
    real = engine.evaluate
    monkeypatch.setattr(engine, "evaluate", lambda *a, tta=0, **kw: asked.append(tta) or real(*a, tta=tta, **kw))
    data = _image_data(torch.rand(40, 3, 12, 12))
    engine.fit(build_model("mlp", (3, 12, 12), 10, hidden=(8,)), data,
               TrainConfig(model="mlp", hidden=(8,), epochs=3, batch_size=20, tta=2, stats_every=0))
    assert asked == [0, 0, 2]


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.2])
def test_label_smoothing_matches_pytorch(eps):
    logits, y = torch.randn(16, 7), torch.randint(0, 7, (16,))
    torch.testing.assert_close(compute_loss("ce", logits, y, smoothing=eps), F.cross_entropy(logits, y, label_smoothing=eps))
    soft = F.one_hot(y, 7) * (1 - eps) + eps / 7
    by_hand = -(soft * logits.log_softmax(1)).sum(1).mean()
    torch.testing.assert_close(compute_loss("ce", logits, y, smoothing=eps), by_hand)
    torch.testing.assert_close(compute_loss("mse", logits, y, smoothing=eps), (logits.softmax(1) - soft).pow(2).mean())


def test_lookahead_against_a_hand_computation():
    w = nn.Parameter(torch.tensor([1.0, -2.0]))
    buffer = torch.tensor([4.0])
    la = Lookahead(torch.optim.SGD([w], lr=0.1), k=2, alpha=0.5, buffers=[buffer])
    w0 = w.detach().clone()
    for step in range(1, 5):
        la.zero_grad()
        (w.pow(2).sum() / 2).backward()                           # the gradient is w: SGD multiplies by 0.9
        buffer.add_(1.0)
        la.step()
        if step == 2:                                             # slow: w0 + 0.5 (0.81 w0 − w0) = 0.905 w0
            torch.testing.assert_close(w.detach(), 0.905 * w0)
            torch.testing.assert_close(buffer, torch.tensor([5.0]))   # 4 + 0.5 (6 − 4)
        if step == 3:
            torch.testing.assert_close(w.detach(), 0.9 * 0.905 * w0)
    torch.testing.assert_close(w.detach(), 0.905 ** 2 * w0)
    la.to_slow()
    torch.testing.assert_close(w.detach(), 0.905 ** 2 * w0)
    ramp = Lookahead(torch.optim.SGD([w], lr=0.1), 5, 0.2, total_steps=100, ramp=True)
    assert ramp.alpha_at(0) == 1 and ramp.alpha_at(100) == pytest.approx(0.2)
    assert ramp.alpha_at(50) == pytest.approx(1 - 0.8 / 8)
    assert ramp.param_groups is ramp.optimizer.param_groups
    scaler = torch.amp.GradScaler("cpu", enabled=True)           # the engine's float16 path takes the wrapper
    scaler.scale(w.pow(2).sum()).backward()
    scaler.unscale_(ramp)
    scaler.step(ramp)
    scaler.update()
    assert ramp.steps == 1


def test_model_learning_rate_scales_make_sgd_groups_and_fold_the_logit_scale():
    cfg = TrainConfig(model="airbench", lr=0.5, weight_decay=0.01, momentum=0.9, nesterov=True)
    net = build_model("airbench", (3, 16, 16), 10, channels=(4, 4, 4))
    groups = {g["lr"]: g for g in make_optimizer(cfg, net.parameters()).param_groups}
    assert set(groups) == {0.5, 0.5 * 64, 0.5 / 81}
    assert groups[32.0]["weight_decay"] == pytest.approx(0.01 / 64) and len(groups[32.0]["params"]) == 6
    assert all(p is not net[0].weight for g in groups.values() for p in g["params"])  # the frozen whitening layer
    assert len(make_optimizer(replace(cfg, optimizer="adam"), net.parameters()).param_groups) == 1
    # SGD on V = W/9 with the learning rate / 81 moves the logits exactly as SGD on W followed by × 1/9
    x, target = torch.randn(8, 6), torch.randn(8, 3)
    W = torch.randn(3, 6)
    a, b = nn.Parameter(W.clone()), nn.Parameter(W / 9)
    opt_a = torch.optim.SGD([a], lr=0.3, momentum=0.9, nesterov=True)
    opt_b = torch.optim.SGD([b], lr=0.3 / 81, momentum=0.9, nesterov=True)
    for _ in range(3):
        for p, opt, out in ((a, opt_a, lambda: x @ a.T / 9), (b, opt_b, lambda: x @ b.T)):
            opt.zero_grad()
            (out() - target).pow(2).sum().backward()
            opt.step()
    torch.testing.assert_close(x @ a.T / 9, x @ b.T)


def test_triangle_schedule_steps_every_batch():
    assert triangle(0, 100) == pytest.approx(0.2) and triangle(23, 100) == 1 and triangle(100, 100) == pytest.approx(0.07)
    assert triangle(10, 100) < triangle(20, 100) and triangle(60, 100) > triangle(90, 100)
    data = _image_data(torch.rand(40, 1, 12, 12))
    from nets.engine.train import fit
    cfg = TrainConfig(model="mlp", hidden=(8,), epochs=2, batch_size=10, schedule="triangle", lr=0.1, stats_every=0)
    result = fit(build_model("mlp", (1, 12, 12), 10, hidden=(8,)), data, cfg)
    assert [round(h.lr, 6) for h in result.history] == [round(0.1 * triangle(4, 8), 6), round(0.1 * 0.07, 6)]


def test_the_presets_validate_and_differ_only_as_said():
    full, mini = PRESETS["airbench94"], PRESETS["airbench94-mini"]
    validate(full)
    validate(mini)
    assert (full.model, full.init, full.augment, full.tta, full.label_smoothing) == \
        ("airbench", "dirac", ("flip_alt", "translate"), 2, 0.2)
    assert mini.dataset == "fashion-mnist-mini"


def test_a_small_airbench_run_beats_chance_on_the_cpu():
    """The recipe's switches all on (narrower), on 300 bundled Fashion-MNIST images: well above chance (10%)."""
    from nets.engine.start import initial_model
    from nets.engine.train import fit
    from nets.experiment import prepare_data
    cfg = replace(PRESETS["airbench94-mini"], train_per_class=30, channels=(8, 16, 16), epochs=4, batch_size=32,
                  lr=0.5, device="cpu")
    data = prepare_data(cfg)
    result = fit(initial_model(cfg, data), data, cfg)
    assert result.history[-1].test_acc > 0.35                     # ~0.55 measured
