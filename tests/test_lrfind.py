"""The learning-rate range test (nets.engine.lrfind) and its suggestions (nets.coach.lr_suggest): restoration
bit-exact, stop, cost under an epoch, and the four rules on synthetic curves with known answers."""
import json
import math
import random
import threading

import numpy as np
import pytest
import torch
from torch import nn

from nets.coach import lr_suggest
from nets.coach.lr_suggest import agreement, best, fmt_lr, suggest, words
from nets.engine import lrfind
from nets.engine.config import TrainConfig
from nets.engine.data import ImageData
from nets.engine.events import LRPoint
from nets.engine.lrfind import LRCurve, range_test, steps_for


def _data(n=256, seed=0) -> ImageData:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 4
    x = (torch.rand(n, 1, 8, 8, generator=g) * 80).to(torch.uint8)
    x[:, :, :4, :4] += (y * 40).to(torch.uint8).view(-1, 1, 1, 1)  # learnable: class sets a corner's brightness
    return ImageData("synthetic", ["a", "b", "c", "d"], x, y, x[:64].clone(), y[:64].clone(), mean=[0.3], std=[0.2])


def _model() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.3),
                         nn.Flatten(), nn.Linear(4 * 8 * 8, 4))


CFG = TrainConfig(dataset="mnist-mini", model="custom", optimizer="sgd", batch_size=16, device="cpu", amp=False)


def _rng_states():
    return torch.get_rng_state().clone(), random.getstate(), np.random.get_state()


def _same_rng(a, b) -> bool:
    return (torch.equal(a[0], b[0]) and a[1] == b[1] and a[2][0] == b[2][0]
            and np.array_equal(a[2][1], b[2][1]) and a[2][2:] == b[2][2:])


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_restores_weights_buffers_grads_and_random_states_bit_exactly(optimizer):
    model, data = _model(), _data()
    model.eval()  # and the mode
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(123), random.seed(5), np.random.seed(7)
    rng = _rng_states()
    changed = []

    def watch(event):
        if event.step == 5:  # mid-test the weights and batch-norm statistics did move
            now = model.state_dict()
            changed.extend(k for k in before if not torch.equal(before[k].cpu(), now[k].cpu()))

    curve = range_test(model, data, TrainConfig(**{**CFG.to_dict(), "optimizer": optimizer}), steps=20,
                       on_event=watch)
    assert len(curve.lrs) >= 6 and {"1.running_mean", "1.running_var", "0.weight", "5.weight"} <= set(changed)
    after = model.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(before[k], after[k]) and before[k].dtype == after[k].dtype for k in before)
    assert not model.training and all(p.grad is None for p in model.parameters())
    assert _same_rng(rng, _rng_states())
    assert torch.rand(1).item() == (torch.manual_seed(123), torch.rand(1).item())[1]


def test_restores_even_when_a_listener_raises():
    model, data = _model(), _data()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = _rng_states()

    def boom(event):
        if event.step == 3:
            raise RuntimeError("listener failed")

    with pytest.raises(RuntimeError, match="listener failed"):
        range_test(model, data, CFG, steps=20, on_event=boom)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert _same_rng(rng, _rng_states())


def test_points_rates_smoothing_and_stop_midway():
    model, data = _model(), _data()
    stop, points = threading.Event(), []

    def listen(event):
        points.append(event)
        if event.step == 6:
            stop.set()

    curve = range_test(model, data, CFG, start=1e-5, end=1.0, steps=40, beta=0.9, on_event=listen, stop=stop)
    assert curve.stopped == "stop" and len(curve.lrs) == len(points) == 7
    assert all(isinstance(p, LRPoint) for p in points) and [p.step for p in points] == list(range(7))
    n = steps_for(len(data.x_train), CFG.batch_size, 40)
    assert curve.lrs == pytest.approx([1e-5 * (1e5) ** (i / (n - 1)) for i in range(7)])
    avg, b = 0.0, 0.9 ** (100 / n)  # fastai's debiased moving average, beta per 1/100 of the range
    for i, (raw, sm) in enumerate(zip(curve.losses, curve.smooth)):
        avg = b * avg + (1 - b) * raw
        assert sm == pytest.approx(avg / (1 - b ** (i + 1)))
    assert curve.smooth[0] == pytest.approx(curve.losses[0])


def test_stops_at_divergence_and_keeps_the_bad_point():
    curve = range_test(_model(), _data(), CFG, start=1e-3, end=1e6, steps=60)
    assert curve.stopped == "diverged" and len(curve.lrs) < 60
    last = curve.smooth[-1]
    assert not math.isfinite(curve.losses[-1]) or not math.isfinite(last) or last > 4 * min(curve.smooth[:-1])
    s = suggest(curve)  # a NaN tail does not break the rules
    assert all(v is None or math.isfinite(v) for v in s.values())


def test_costs_fewer_steps_than_an_epoch_of_mnist_mini(monkeypatch):
    from nets.experiment import prepare_data
    data = prepare_data(TrainConfig(dataset="mnist-mini"))
    batches = math.ceil(len(data.x_train) / 64)
    taken = []
    real = lrfind._Run.step
    monkeypatch.setattr(lrfind._Run, "step", lambda self, idx, *a: (taken.append(len(idx)), real(self, idx, *a))[1])
    cfg = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(8,), batch_size=64, device="cpu")
    curve = range_test(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), data, cfg, end=1e-2)
    assert curve.stopped == "end" and len(taken) == len(curve.lrs) < batches
    assert set(taken) == {64} and len(taken) >= 90  # nearly fastai's 100 points, all full batches
    assert steps_for(10, 64) == lrfind.MIN_STEPS and steps_for(60000, 64) == 100


# ------------------------------------------------------------------------------------ suggestions
U = np.linspace(-7, 1, 100)  # log10 of the rate


def _curve(loss, stopped="diverged") -> LRCurve:
    loss = list(map(float, loss))
    return LRCurve(list(10.0 ** U[:len(loss)]), loss, loss, stopped, 1.0)


def _known():
    """Flat at 2.3 until 1e-5, falls by 2 until 0.1 (a smoothstep in log rate, fastest at 1e-3), then blows
    up (past about 0.1; a tiny rise everywhere, so the flat part is no valley)."""
    t = np.clip((U + 5) / 4, 0, 1)
    return 2.3 - 2.0 * (3 * t ** 2 - 2 * t ** 3) + np.exp(4 * (U + 0.5))


def test_the_four_rules_on_a_known_curve():
    s = suggest(_curve(_known()))
    assert set(s) == set(lr_suggest.RULES)
    low = 10.0 ** U[int(np.argmin(_known()[10:95])) + 10]
    assert s["minimum"] == pytest.approx(low / 10)
    assert abs(math.log10(s["steep"]) - (-3)) <= 0.1               # the inflection
    # fastai's valley: half way (1/3 + 1/6) along the longest decreasing run, here from 1e-5 to the low
    assert abs(math.log10(s["valley"]) - (-5 + math.log10(low)) / 2) <= 0.15
    assert -5 <= math.log10(s["slide"]) <= math.log10(low)
    lo, hi = agreement(s)
    assert lo == min(s.values()) and hi == max(s.values())
    # the rate offered: the middle of valley (~6e-4), steep (1e-3) and minimum (~5e-3): steep's here
    assert lr_suggest.BEST_RULE == "middle" and best(s) == s["steep"] and abs(math.log10(best(s)) + 3) <= 0.1
    text = words(_curve(_known()), s)
    assert text.startswith("The loss falls from ") and "turns up at" in text
    assert f"take steep's {fmt_lr(s['steep'])}, the middle of valley, minimum and steep" in text


def test_the_middle_rule_is_not_moved_by_one_rule_far_off():
    # one of the three far too high (steep on the edge of a collapse) or far too low (valley in the flat
    # start): the middle stays with the other two, where a mean of the three would follow the outlier
    assert best({"valley": 1e-3, "slide": 1.0, "minimum": 3e-3, "steep": 0.3}) == 3e-3
    assert best({"valley": 1e-7, "slide": 1e-7, "minimum": 3e-3, "steep": 5e-3}) == 3e-3
    assert best({"valley": 2e-3, "slide": 2e-3, "minimum": 2e-3, "steep": 2e-3}) == 2e-3
    assert best({"valley": 1e-3, "slide": 1e-2, "minimum": None, "steep": 1e-1}) == 1e-3   # of two, the lower
    assert best({"valley": None, "slide": 1e-2, "minimum": None, "steep": None}) is None  # slide is not one of them
    assert lr_suggest.middle_from({"valley": 1e-3, "slide": 1.0, "minimum": 3e-3, "steep": 0.3}) == "minimum"
    text = words(_curve(_known()), {"valley": 1e-4, "slide": 3e-3, "minimum": 4e-2, "steep": 0.5})
    assert "take minimum's 0.04, the middle of valley, minimum and steep" in text


def test_nan_and_inf_tails_are_ignored():
    base = suggest(_curve(_known()[:80]))
    for bad in (float("nan"), float("inf")):
        tail = np.concatenate([_known()[:80], [bad] * 20])
        s = suggest(_curve(tail))
        assert s == base and all(v is not None and math.isfinite(v) for v in s.values())


def test_an_early_spike_does_not_fool_the_rules():
    clean = _known()
    spiky = clean.copy()
    spiky[1:5] = 9.0  # Lightning #1767: a few huge losses right at the start
    assert suggest(_curve(spiky)) == suggest(_curve(clean))


def test_a_collapse_back_to_chance_is_cut_off():
    # falls 2.3 -> 0.5, climbs back to 2.3 (the network collapsed: chance level, never 4x the best), then
    # a steep fall-and-rise wobble at the highest rates that must not count as "steepest"
    loss = np.concatenate([np.full(20, 2.3), np.linspace(2.3, 0.5, 40), np.linspace(0.5, 2.3, 20),
                           [2.3, 1.5, 2.3, 0.9, 2.3] * 4])
    s = suggest(_curve(loss, "end"))
    top = 10.0 ** U[60]  # the lowest point
    assert all(v <= top for v in s.values()) and s["steep"] <= top and best(s) <= top
    assert lr_suggest.window(_curve(loss, "end"))[0][-1] < 10.0 ** U[80]


def test_no_rate_when_the_loss_never_falls():
    for loss in (np.full(100, 2.3), 2.3 + 0.01 * np.arange(100), 2.3 + 0.001 * np.sin(np.arange(100))):
        curve = _curve(loss, "end")
        s = suggest(curve)
        assert s == {r: None for r in lr_suggest.RULES} and agreement(s) is None and best(s) is None
        assert words(curve, s).startswith("No rate: the loss never fell")
    assert words(_curve([2.3, 2.2, float("nan")]), suggest(_curve([2.3, 2.2, float("nan")]))).startswith("No rate")


def test_words_say_when_the_rules_agree():
    curve = _curve(_known())
    text = words(curve, {"valley": 2e-3, "slide": 3e-3, "minimum": 4e-3, "steep": 3e-3})
    assert "the four rules agree within half a decade around 3e-3: a good rate." in text
    text = words(curve, {"valley": 1e-4, "slide": 3e-3, "minimum": 4e-2, "steep": None})
    assert "disagree, from 1e-4 to 0.04" in text


def test_fmt_lr_and_the_curve_as_json():
    cases = {3e-4: "3e-4", 0.003: "3e-3", 0.00031: "3e-4", 0.03: "0.03", 0.3: "0.3", 2.0: "2", 10.0: "10",
             1e-7: "1e-7", 0.0096: "0.01"}
    assert {x: fmt_lr(x) for x in cases} == cases
    assert all(float(fmt_lr(x)) == pytest.approx(x, rel=0.2) for x in cases)
    curve = LRCurve([1e-3, 1e-2], [2.0, float("nan")], [2.0, float("nan")], "diverged", 0.5)
    strict = json.loads(json.dumps(curve.to_dict()).replace("NaN", "null"))
    back = LRCurve.from_dict(strict)
    assert back.lrs == curve.lrs and math.isnan(back.losses[1]) and back.stopped == "diverged"
