"""The doctor on layer statistics: each rule at its threshold's edge (synthetic histories), on histories
recorded from real runs (tests/data/dynamics, made by tests/bench_four_dynamics.py --fixtures), its
cards' one-click fixes, the four configurations' sentence per optimizer, and the lessons' real runs."""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from bench_four_dynamics import load, record
from dynamicstools import synthetic
from nets.coach import dynamics as rules
from nets.coach.doctor import diagnose
from nets.coach.dynamics import findings, first_findings
from nets.coach.group import diagnose_group
from nets.engine.config import TrainConfig
from nets.engine.init import apply_init
from nets.link.inside import BY_KEY

DATA = Path(__file__).parent / "data" / "dynamics"


def kinds(found):
    return [f.kind for f in found]


def ep(epoch, acc):
    return {"epoch": epoch, "train_acc": acc, "test_acc": acc, "test_loss": 1.0, "train_loss": 1.0,
            "val_acc": None, "val_loss": None}


STUCK = [ep(1, 0.1), ep(2, 0.1)]


# ------------------------------------------------------------------------ each rule at its edge
@pytest.mark.parametrize("ratio, found", [(0.99e-3, True), (1.01e-3, False)])
def test_vanishing_at_its_edge(ratio, found):
    f = findings(synthetic(grad_first_over_last=ratio))
    assert ("vanishing" in kinds(f)) is found
    if found:
        assert f[0].layer == "fc1" and f[0].step == 5 and "fc1's gradient is 1/1,010 of fc3's" in f[0].text


@pytest.mark.parametrize("ratio, kind", [(0.11, "exploding"), (0.09, "update-ratio"), (rules.RATIO_HIGH * 1.1, "update-ratio"),
                                         (rules.RATIO_HIGH * 0.9, None), (rules.RATIO_LOW * 1.1, None),
                                         (rules.RATIO_LOW * 0.9, "update-ratio")])
def test_update_ratios_at_their_edges(ratio, kind):
    assert kinds(findings(synthetic(update_ratio=ratio))) == ([kind] if kind else [])


def test_a_gradient_grown_a_thousandfold_is_exploding_and_names_its_layer():
    for growth, found in ((1001, True), (999, False)):
        d = synthetic(records=10)
        d.grad_norm[-3:, 1] *= growth
        f = findings(d)
        assert ("exploding" in kinds(f)) is found
        if found:
            assert f[0].layer == "fc2" and f[0].step == 40 and "1,001 times what it was at step 5" in f[0].text


@pytest.mark.parametrize("site_kind, field, share, kind", [
    ("relu", "dead", 0.51, "dead-relu"), ("relu", "dead", 0.5, None), ("leaky_relu", "dead", 0.9, None),
    ("sigmoid", "saturated", 0.51, "saturated"), ("tanh", "saturated", 0.51, "saturated"),
    ("sigmoid", "saturated", 0.49, None)])
def test_dead_and_saturated_units_at_their_edges(site_kind, field, share, kind):
    f = findings(synthetic(site_kind=site_kind, **{field: share}))
    assert kinds(f) == ([kind] if kind else [])
    if kind:
        assert f[0].layer == f"{site_kind} after fc1" and f"{share:.0%} of the units" in f[0].text
        assert "1 more layer too" in f[0].text  # one card for the kind, the worst site named


def test_a_finding_must_hold_in_the_latest_three_records_and_names_where_it_began():
    d = synthetic(records=10, dead=0.0)
    d.dead[-2:, 0] = 0.9
    assert findings(d) == []                    # two records are not enough
    d.dead[-4:, 0] = 0.9
    (f,) = findings(d)
    assert f.step == 35 and f.value == pytest.approx(0.9)
    d.dead[-1, 0] = 0.1
    assert findings(d) == [] and kinds(first_findings(d)) == ["dead-relu"]  # it held once, then cleared
    assert findings(synthetic(records=2, dead=0.9)) == [] and findings(None) == []


# ------------------------------------------------------------------------ recorded runs
def test_the_lessons_recorded_histories_raise_their_flags_within_50_steps():
    sigmoid, _ = load(DATA / "deep-sigmoid.npz")
    vanishing = next(f for f in first_findings(sigmoid) if f.kind == "vanishing")
    assert vanishing.step <= 50 and vanishing.value < 1e-6 and vanishing.layer == "fc1"
    lr1, _ = load(DATA / "relu-lr-1.npz")
    dead = next(f for f in first_findings(lr1) if f.kind == "dead-relu")
    assert dead.step <= 50 and dead.value > 0.5 and dead.layer == "relu after fc1"


@pytest.mark.parametrize("name", ["lenet", "cnn5"])
def test_no_alarm_on_the_default_lenet_or_cnn5_over_a_full_run(name):
    d, meta = load(DATA / f"{name}.npz")
    assert d.step[-1] >= 450 and meta["best_acc"] > 0.8      # five epochs of the bundled data, learned
    assert first_findings(d) == []                           # at no point of the run


# ------------------------------------------------------------------------ the doctor's cards
def test_the_vanishing_card_quotes_the_measured_ratio_and_offers_relu_and_batch_norm():
    d, meta = load(DATA / "deep-sigmoid.npz")
    cfg = TrainConfig.from_dict(meta["config"])
    cards = diagnose(cfg, STUCK, [], 10, dynamics=d)
    assert [a.title for a in cards] == ["Stuck at chance: vanishing gradients", "Vanishing gradients: normalise each layer"]
    assert "Measured: vanishing gradients: fc1's gradient is 1/" in cards[0].message
    assert cards[0].apply(cfg).activation == "relu" and cards[1].apply(cfg).batch_norm is True
    assert "Measured" not in diagnose(cfg, STUCK, [], 10)[0].message  # no statistics: nothing quoted


def test_a_divergence_says_what_happened_inside_before_it():
    d, meta = load(DATA / "relu-lr-1.npz")
    cfg = TrainConfig.from_dict(meta["config"])
    (a,) = diagnose(cfg, [], [{"kind": "Diverged", "epoch": 1, "batch": 30, "loss": float("nan")}], 10, dynamics=d)
    assert "Inside, before it blew up: exploding updates" in a.message and "dead ReLUs: 97%" in a.message
    assert a.apply(cfg).lr == 0.1


def test_dead_relus_from_small_starting_weights_get_kaiming_and_from_big_steps_a_lower_rate():
    cfg = TrainConfig(model="mlp", hidden=(64,) * 3, activation="relu")
    (a,) = diagnose(cfg, [], [], 10, dynamics=synthetic(dead=0.6, update_ratio=1e-6))
    assert a.kind == "inside-dead-relu" and a.changes == {"init": "kaiming"} and a.apply(cfg).init == "kaiming"
    (b,) = diagnose(cfg, [], [], 10, dynamics=synthetic(dead=0.6, update_ratio=0.07))
    assert b.changes == {"lr": 0.001} and "by up to 7% of their size" in b.message
    (c,) = diagnose(replace(cfg, init="kaiming"), [], [], 10, dynamics=synthetic(dead=0.6, update_ratio=1e-6))
    assert c.changes == {"batch_norm": True}


def test_saturated_units_get_relu_and_xavier_and_a_lone_update_ratio_its_rate():
    cfg = TrainConfig(model="mlp", hidden=(64, 64), activation="tanh")
    a, b = diagnose(cfg, [], [], 10, dynamics=synthetic(site_kind="tanh", saturated=0.8))
    assert a.changes == {"activation": "relu"} and b.changes == {"init": "xavier"} and b.apply(cfg).init == "xavier"
    (c,) = diagnose(cfg, [], [], 10, dynamics=synthetic(site_kind="tanh", update_ratio=1e-6))
    assert c.title == "Steps far too small" and c.apply(cfg).lr == 0.1
    (e,) = diagnose(cfg, [], [], 10, dynamics=synthetic(site_kind="tanh", update_ratio=0.5))
    assert e.kind == "inside-exploding" and e.apply(cfg).lr == 0.001


def test_a_card_whose_fix_another_already_offers_is_quoted_in_it():
    cfg = TrainConfig(lr=0.001, loss="mse")
    (a,) = diagnose(cfg, STUCK, [], 10, dynamics=synthetic(update_ratio=3e-6))
    assert "too small" in a.title and a.changes == {"lr": 0.01}
    assert "Measured: update ratio far below 1e-3" in a.message


# ------------------------------------------------------------------------ the four configurations
def four(with_stats: bool):
    runs = []
    for name in ("sgd-ce", "sgd-mse", "adam-ce", "adam-mse"):
        d, meta = load(DATA / f"four-{name}.npz")
        cfg, acc = TrainConfig.from_dict(meta["config"]), meta["best_acc"]
        runs.append((name, cfg, [ep(i, acc) for i in (1, 2, 3)], [], {"best_test_acc": acc, "best_epoch": 3},
                     d if with_stats else None))
    return runs


def test_the_group_sentence_without_statistics_claims_no_cause_for_adam():
    s = diagnose_group(four(False)).sentence
    assert s.startswith("Adam + cross-entropy learned best: ")
    assert "Adam + squared error learned least (10.0%, no better than chance at 10%): squared error through " \
           "softmax gives small gradients, but Adam divides each step by the gradient's recent size, so small " \
           "gradients alone do not stop it" in s
    assert "SGD + squared error also stayed at chance" in s and "a step of SGD is the learning rate (0.001) × " \
           "the gradient, and squared error through softmax gives small gradients" in s


def test_the_group_sentence_with_statistics_says_what_they_measured_per_optimizer():
    s = diagnose_group(four(True)).sentence
    adam, sgd = s.split("SGD + squared error also stayed at chance (12.7%): ")
    assert adam.endswith(
        "Adam + squared error learned least (10.0%, no better than chance at 10%): Adam divides each step by the "
        "gradient's recent size, so its first step moved the median layer's weights by 23% of their size whatever "
        "the loss (at step 1 its gradients were 1/51 of cross-entropy's); by step 10, 98% of the units of relu "
        "after conv2 never fired and from step 10 no gradient reached conv1, while the softmax stayed unsure "
        "(mean top probability 0.11); ")
    assert sgd == ("a step of SGD is the learning rate (0.001) × the gradient, and squared error through softmax "
                   "gives small gradients (at step 1 its gradients were 1/51 of cross-entropy's): a step moved the "
                   "median layer's weights by 3e-06 of their size, far below 0.001.")


# ------------------------------------------------------------------------ real runs, init
@pytest.mark.parametrize("key, steps, kind", [("deep-sigmoid", 50, "vanishing"), ("relu-lr-1", 50, "dead-relu"),
                                               ("deep-relu", 12, "dead-relu")])
def test_each_lessons_real_run_raises_its_flag(key, steps, kind):
    torch.set_num_threads(1)
    d, _, _ = record(BY_KEY[key].cfg, max_steps=steps)
    assert kind in kinds(first_findings(d)) and d.step[-1] <= 50


def test_init_draws_linear_and_conv_weights_again_with_zero_biases():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 8, 3), nn.Flatten(), nn.Linear(8 * 26 * 26, 2000), nn.Linear(2000, 10))
    net[3].weight.requires_grad_(False)
    frozen = net[3].weight.clone()
    apply_init(net, "kaiming")
    assert torch.equal(net[3].weight, frozen) and float(net[2].bias.detach().abs().sum()) == 0
    assert net[2].weight.std().item() == pytest.approx(np.sqrt(2 / (8 * 26 * 26)), rel=0.02)
    apply_init(net, "xavier", "tanh")
    assert net[2].weight.std().item() == pytest.approx(5 / 3 * np.sqrt(2 / (8 * 26 * 26 + 2000)), rel=0.02)
    with pytest.raises(ValueError):
        apply_init(net, "zeros")


def test_training_applies_the_init(tmp_path, monkeypatch):
    import nets.engine.start as start
    import nets.experiment as experiment
    seen = []
    monkeypatch.setattr(start, "apply_init", lambda model, init, act: seen.append((init, act)))
    cfg = TrainConfig(model="mlp", hidden=(8,), activation="relu", init="kaiming", epochs=1, train_per_class=2,
                      device="cpu")
    experiment.run_training(cfg, checkpoints=tmp_path)
    assert seen == [("kaiming", "relu")]
