"""The layer statistics against references computed another way: autograd, hand arithmetic, np.histogram-style counting."""
from __future__ import annotations

import copy
import json
import math
from dataclasses import asdict

import numpy as np
import pytest
import torch
from torch import nn

from nets.engine import bins
from nets.engine.config import TrainConfig
from nets.engine.data import ImageData
from nets.engine.events import LayerStats, StatsPlan
from nets.engine.models import build_model
from nets.engine.probe import LayerProbe, effective_every
from nets.engine.stats import Dynamics, even_indices
from nets.engine.train import fit


def probe_step(model, x, y, opt, probe, step=1, loss_fn=nn.functional.cross_entropy):
    """One training step with the probe's calls where fit makes them; the record taken."""
    probe.arm(step)
    logits = model(x)
    loss = loss_fn(logits, y)
    opt.zero_grad()
    loss.backward()
    probe.before_step()
    opt.step()
    probe.after_step(step, 1, step, step * len(x), opt.param_groups[0]["lr"], logits, y)
    return probe.flush()


def mlp(*sizes, act=nn.ReLU, dtype=torch.float32):
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), act()]
    return nn.Sequential(*layers[:-1]).to(dtype)


def test_norms_equal_autograd_and_the_sgd_ratio_is_lr_g_over_w():
    torch.manual_seed(0)
    model = mlp(6, 8, 5, 3, dtype=torch.float64)
    x, y = torch.randn(16, 6, dtype=torch.float64), torch.randint(0, 3, (16,))
    W = [m.weight for m in model if isinstance(m, nn.Linear)]
    g = torch.autograd.grad(nn.functional.cross_entropy(model(x), y), W)
    w0 = [w.detach().norm().item() for w in W]
    lr = 0.05
    rec = probe_step(model, x, y, torch.optim.SGD(model.parameters(), lr=lr), LayerProbe(model, 1, x[:2]))
    assert rec.weight_norm[0] == pytest.approx(w0, rel=1e-12)
    assert rec.grad_norm[0] == pytest.approx([t.norm().item() for t in g], rel=1e-10)
    ratio = np.array(rec.update_norm[0]) / np.array(rec.weight_norm[0])
    assert ratio == pytest.approx([lr * t.norm().item() / n for t, n in zip(g, w0)], rel=1e-10)


def test_under_adam_the_update_is_the_real_change_not_lr_times_gradient():
    """Adam's first step moves every weight by about lr whatever its gradient's size: ‖Δw‖ ≈ lr·√n."""
    torch.manual_seed(1)
    model = mlp(6, 8, 3, dtype=torch.float64)
    x, y = torch.randn(16, 6, dtype=torch.float64), torch.randint(0, 3, (16,))
    lr = 1e-3
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    probe = LayerProbe(model, 1, x[:2])
    twin, twin_opt = copy.deepcopy(model), None
    twin_opt = torch.optim.Adam(twin.parameters(), lr=lr)
    for step in (1, 2):
        before = [m.weight.detach().clone() for m in twin if isinstance(m, nn.Linear)]
        loss = nn.functional.cross_entropy(twin(x), y)
        twin_opt.zero_grad()
        loss.backward()
        twin_opt.step()
        moved = [(m.weight.detach() - b).norm().item() for m, b in zip([m for m in twin if isinstance(m, nn.Linear)], before)]
        rec = probe_step(model, x, y, opt, probe, step)
        assert rec.update_norm[0] == pytest.approx(moved, rel=1e-9)
        if step == 1:
            sizes = [m.weight.numel() for m in model if isinstance(m, nn.Linear)]
            assert rec.update_norm[0] == pytest.approx([lr * math.sqrt(n) for n in sizes], rel=1e-3)
            assert rec.update_norm[0] != pytest.approx([lr * g for g in rec.grad_norm[0]], rel=0.1)


def test_dead_relus_are_counted_per_unit_and_per_channel():
    torch.manual_seed(2)
    model = mlp(4, 10, 3)
    with torch.no_grad():
        model[0].bias[:3] = -100.0  # three of ten units can never fire
    x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
    rec = probe_step(model, x, y, torch.optim.SGD(model.parameters(), lr=0.0), LayerProbe(model, 1, x[:2]))
    assert rec.dead[0] == [pytest.approx(0.3)] and math.isnan(rec.saturated[0][0])
    conv = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    with torch.no_grad():
        conv[0].bias[1] = -100.0
    x = torch.randn(8, 1, 6, 6)
    rec = probe_step(conv, x, y[:8], torch.optim.SGD(conv.parameters(), lr=0.0), LayerProbe(conv, 1, x[:2]))
    assert rec.dead[0] == [pytest.approx(0.25)]


def test_saturation_of_sigmoid_and_tanh_at_their_edges():
    torch.manual_seed(3)
    sig = mlp(4, 10, 3, act=nn.Sigmoid)
    with torch.no_grad():
        sig[0].weight.zero_()
        sig[0].bias[:4] = 50.0    # sigmoid(50) > .99
        sig[0].bias[4:6] = -50.0  # sigmoid(-50) < .01
    x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    rec = probe_step(sig, x, y, torch.optim.SGD(sig.parameters(), lr=0.0), LayerProbe(sig, 1, x[:2]))
    assert rec.saturated[0] == [pytest.approx(0.6)] and math.isnan(rec.dead[0][0])
    tanh = mlp(4, 4, 3, act=nn.Tanh)
    with torch.no_grad():
        tanh[0].weight.zero_()
        tanh[0].bias.copy_(torch.tensor([math.atanh(0.96), math.atanh(0.98), -math.atanh(0.98), 0.0]))
    rec = probe_step(tanh, x, y, torch.optim.SGD(tanh.parameters(), lr=0.0), LayerProbe(tanh, 1, x[:2]))
    assert rec.saturated[0] == [pytest.approx(0.5)]  # .98 and -.98 are past .97; .96 and 0 are not


def test_activation_mean_std_and_histograms_match_the_values_seen():
    torch.manual_seed(4)
    model = mlp(5, 7, 3, act=nn.Tanh)
    x, y = torch.randn(12, 5), torch.randint(0, 3, (12,))
    a = torch.tanh(model[0](x)).detach()
    W = [m.weight.detach().clone() for m in model if isinstance(m, nn.Linear)]
    rec = probe_step(model, x, y, torch.optim.SGD(model.parameters(), lr=0.1), LayerProbe(model, 1, x[:2]))
    assert rec.act_mean[0][0] == pytest.approx(a.mean().item(), rel=1e-5)
    assert rec.act_std[0][0] == pytest.approx(a.std(unbiased=False).item(), rel=1e-4)
    assert rec.hist_act[0][0] == bins.counts_np(a.numpy(), "tanh").tolist()
    assert [h for h in rec.hist_weight[0]] == [bins.counts_np(w.numpy()).tolist() for w in W]


@pytest.mark.parametrize("kind", ["log", "sigmoid", "tanh"])
def test_bins_count_edges_zeros_and_non_finite_values_like_the_reference(kind):
    e = bins.edges(kind)
    x = np.concatenate([e[2:-1] * 1.001 if kind == "log" else (e[:-1] + e[1:]) / 2, [0.0, -0.0, 1e-300, 5e3, -2.5],
                        [np.nan, np.inf, -np.inf]]).astype(np.float32)
    got = bins.counts(torch.from_numpy(x), kind).tolist()
    assert got == bins.counts_np(x, kind).tolist() and sum(got) == len(x) and len(got) == bins.BINS


def test_a_block_relu_called_twice_is_two_sites():
    model = build_model("resnet18", (3, 32, 32), 10)
    probe = LayerProbe(model, 10, torch.randn(2, 3, 32, 32))
    plan = probe.plan()
    assert plan.sites[0] == "relu after conv1" and "relu after layer1.0.conv1 #1" not in plan.sites
    assert len(plan.sites) == 1 + 2 * 8 and len(set(plan.sites)) == len(plan.sites)
    assert len(plan.layers) == 21 and plan.layers[-1] == "fc"
    probe.remove()
    assert not any(m._forward_hooks for m in model.modules())


def test_effective_every_keeps_at_most_ten_thousand_records():
    assert effective_every(10, 5, 100) == 10
    assert effective_every(1, 200, 1000) == 20 and 200 * 1000 / 20 <= 10_000


def test_even_indices_keep_both_ends():
    for n, k in [(0, 5), (3, 5), (10, 4), (1000, 400), (401, 400)]:
        i = even_indices(n, k)
        assert len(i) <= max(k, 0) or n <= k
        if n:
            assert i[0] == 0 and i[-1] == n - 1 and np.all(np.diff(i) > 0)


@pytest.fixture(scope="module")
def tiny_data():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (96, 1, 8, 8), dtype=torch.uint8, generator=g)
    y = torch.arange(96) % 3
    return ImageData("toy", ["a", "b", "c"], x, y, x[:24], y[:24], mean=[0.5], std=[0.25])


def test_fit_records_take_no_hooks_away_with_the_model_and_survive_json(tiny_data):
    cfg = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(16, 16), epochs=2, batch_size=16, lr=0.1,
                      momentum=0.0, stats_every=2, log_every=3, log_seconds=0)
    torch.manual_seed(0)
    model = build_model("mlp", (1, 8, 8), 3, hidden=(16, 16))
    events = []
    fit(model, tiny_data, cfg, events.append)
    plan = next(e for e in events if isinstance(e, StatsPlan))
    d = Dynamics.from_plan(asdict(plan))
    for e in events:
        if isinstance(e, LayerStats):
            d = d.extended(json.loads(json.dumps(asdict(e))))  # as a worker's message carries it
    assert list(d.step) == [1, *range(2, 13, 2)] and list(d.epoch) == [1, 1, 1, 1, 2, 2, 2]
    assert d.layers == ["fc1", "fc2", "fc3"] and d.sites == ["relu after fc1", "relu after fc2"]
    assert d.hist_weight.shape == (7, 3, bins.BINS) and np.all(d.hist_weight.sum(2) == [16 * 64, 256, 48])
    # plain SGD in float32 through fit: ratio = lr·|g|/|w|
    assert d.update_ratio == pytest.approx(0.1 * d.grad_norm / d.weight_norm, rel=1e-4)
    assert not any(m._forward_hooks for m in model.modules())


def test_a_live_copy_pickles_small_once_and_comes_back_equal():
    import pickle
    from dynamicstools import synthetic
    d = synthetic(records=40, dead=0.25)
    first = pickle.dumps(d)
    assert pickle.dumps(d) is not first and pickle.dumps(d) == first  # packed once, reused
    back = pickle.loads(first)
    assert back.plan() == d.plan() and back.step.flags.writeable
    for k, v in d.arrays().items():
        assert np.array_equal(getattr(back, k), v, equal_nan=True) and getattr(back, k).dtype == v.dtype, k


def test_recording_changes_nothing_the_run_learns(tiny_data):
    """The probe only reads: the same seed gives the same weights and numbers with statistics every step or none."""
    results = []
    for every in (0, 1):
        cfg = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(16,), epochs=2, batch_size=16, dropout=0.3,
                          stats_every=every)
        torch.manual_seed(0)
        model = build_model("mlp", (1, 8, 8), 3, hidden=(16,), dropout=0.3)
        results.append(fit(model, tiny_data, cfg))
    a, b = results
    assert all(torch.equal(a.best_state[k], b.best_state[k]) for k in a.best_state)
    assert [asdict(h) | {"seconds": 0, "images_per_s": 0} for h in a.history] == \
           [asdict(h) | {"seconds": 0, "images_per_s": 0} for h in b.history]


def test_a_network_without_activations_still_records():
    """A linear model has weight layers and no activation sites: the arrays are (R, 0) and (R, 0, BINS)."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    x, y = torch.randn(8, 4), torch.randint(0, 3, (8,))
    probe = LayerProbe(model, 1, x[:2])
    d = Dynamics.from_plan(asdict(probe.plan()))
    for step in (1, 2):
        d = d.extended(asdict(probe_step(model, x, y, torch.optim.SGD(model.parameters(), lr=0.1), probe, step)))
    assert d.sites == [] and d.act_mean.shape == (2, 0) and d.hist_act.shape == (2, 0, bins.BINS)
    assert d.thinned(1).step.tolist() == [2] and d.grad_norm.shape == (2, 1)
