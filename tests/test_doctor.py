from dataclasses import asdict, fields
from types import SimpleNamespace

import pytest

from nets.engine.config import TrainConfig, four_configs
from nets.engine.naming import LOSS_NAMES, OPTIMIZER_NAMES
from nets.experiment import prepare_data, run_training
from nets.coach.doctor import Advice, diagnose, higher_lr, lower_lr
from nets.coach.group import diagnose_group

CONFIG_FIELDS = {f.name for f in fields(TrainConfig)}


def ep(epoch, train_acc, test_acc, test_loss=1.0, train_loss=1.0):
    return {"epoch": epoch, "train_acc": train_acc, "test_acc": test_acc, "test_loss": test_loss,
            "train_loss": train_loss, "val_acc": None, "val_loss": None}


def kinds(advice):
    return [a.kind for a in advice]


def record(cfg, data, ckpt):
    """A real run and what a JobView holds of it: (label, cfg, epochs, notes, summary)."""
    epochs, notes = [], []

    def on(e):
        kind = type(e).__name__
        if kind == "EpochEnd":
            epochs.append(asdict(e))
        elif kind in ("Diverged", "EarlyStopped", "Converged", "Stopped"):
            notes.append({"kind": kind, **asdict(e)})

    s = run_training(cfg, data, checkpoints=ckpt, on_event=on)
    return cfg.label(), cfg, epochs, notes, s.to_dict()


# ------------------------------------------------------------------------ learning-rate suggestions
@pytest.mark.parametrize("optimizer, lr, suggested", [
    ("sgd", 1000.0, 0.01), ("sgd", 100.0, 0.01), ("sgd", 2.0, 0.01),    # far too high: SGD's usual value
    ("sgd", 1.0, 0.1), ("sgd", 0.5, 0.05), ("sgd", 0.01, 0.001),       # close: a tenth
    ("adam", 1.0, 0.001), ("adamw", 0.5, 0.001), ("rmsprop", 10.0, 0.001),
    ("adam", 0.05, 0.005), ("adam", 0.01, 0.001),
])
def test_a_lower_learning_rate_is_sensible(optimizer, lr, suggested):
    new, why = lower_lr(TrainConfig(optimizer=optimizer, lr=lr))
    assert new == suggested and new < lr
    assert ("usual starting value" in why) == (new != pytest.approx(lr / 10))


@pytest.mark.parametrize("optimizer, lr, suggested", [
    ("sgd", 1e-6, 0.01), ("sgd", 1e-4, 0.01), ("sgd", 0.001, 0.01), ("sgd", 0.005, 0.05),
    ("adam", 1e-6, 0.001), ("adam", 5e-5, 5e-4),
])
def test_a_higher_learning_rate_is_sensible(optimizer, lr, suggested):
    new, why = higher_lr(TrainConfig(optimizer=optimizer, lr=lr))
    assert new == suggested and new > lr


# ------------------------------------------------------------------------ one run
def test_divergence_suggests_a_tenth_when_close():
    cfg = TrainConfig(lr=0.5)
    notes = [{"kind": "Diverged", "epoch": 2, "batch": 7, "loss": float("nan")}]
    (a,) = diagnose(cfg, [ep(1, 0.5, 0.5)], notes, 10)
    assert a.kind == "diverged" and "epoch 2, batch 7" in a.message and "NaN" in a.message
    assert "The best model before that point was kept." in a.message
    assert a.apply(cfg).lr == 0.05 and a.apply(cfg).model == cfg.model
    assert a.action == "Retry with learning rate 0.05" and tuple(a.changes) == ("lr",)


def test_divergence_at_a_huge_learning_rate_in_the_first_epoch(tmp_path):
    """A real run: SGD at learning rate 1000 on an MLP overflows within the first epoch."""
    cfg = TrainConfig(model="mlp", lr=1000.0, batch_size=8, epochs=2, train_per_class=20, device="cpu", log_every=1)
    label, cfg, epochs, notes, summary = record(cfg, prepare_data(cfg), tmp_path)
    assert summary["status"] == "diverged" and summary["best_epoch"] is None and not epochs
    (a,) = diagnose(cfg, epochs, notes, 10)
    assert a.changes == {"lr": 0.01} and a.action == "Retry with learning rate 0.01"  # not 100
    assert f"epoch 1, batch {notes[0]['batch']}" in a.message
    assert "No model was kept: it diverged before any epoch finished." in a.message
    assert "before that point was kept" not in a.message
    assert "A tenth (100) would still be far above the usual range for SGD (0.01 to 0.1)" in a.message
    # the page may say what it knows: a kept model from an earlier epoch
    (b,) = diagnose(cfg, [], notes, 10, kept=True)
    assert "The best model before that point was kept." in b.message


def test_chance_level_causes():
    stuck = [ep(1, 0.11, 0.1), ep(2, 0.1, 0.1)]
    deep_sigmoid = TrainConfig(model="mlp", hidden=(256, 128, 64), activation="sigmoid")
    (a,) = diagnose(deep_sigmoid, stuck, [], 10)
    assert a.kind == "chance" and "vanishing" in a.title and a.changes == {"activation": "relu"}
    (b,) = diagnose(TrainConfig(lr=1e-6), stuck, [], 10)
    assert "too small" in b.title and b.changes == {"lr": 0.01}       # SGD's usual value, not 1e-4
    (e,) = diagnose(TrainConfig(lr=0.001, loss="mse"), stuck, [], 10)
    assert e.changes == {"lr": 0.01} and "squared error" in e.message  # close: ten times
    (d,) = diagnose(TrainConfig(lr=1000.0), stuck, [], 10)
    assert "too large" in d.title and d.changes == {"lr": 0.01}        # not 10
    (f,) = diagnose(TrainConfig(optimizer="adam", lr=1e-6), stuck, [], 10)
    assert f.changes == {"lr": 0.001}
    (c,) = diagnose(TrainConfig(lr=0.01), stuck, [], 10)
    assert c.changes == {"optimizer": "adam", "lr": 0.001}
    assert diagnose(TrainConfig(), stuck[:1], [], 10) == []  # one epoch is too early to say
    assert diagnose(TrainConfig(), [ep(1, 0.4, 0.4), ep(2, 0.6, 0.6)], [], 10) == []


def test_overfitting_suggests_dropout_or_augmentation():
    epochs = [ep(1, 0.8, 0.7, test_loss=0.9), ep(2, 0.95, 0.72, test_loss=1.1)]
    (a,) = diagnose(TrainConfig(model="lenet"), epochs, [], 10)
    assert a.kind == "overfitting" and "rising" in a.message and a.changes == {"dropout": 0.5}
    (b,) = diagnose(TrainConfig(model="resnet18", dropout=0.5, dataset="cifar10"), epochs, [], 10)
    assert b.changes == {"augment": ("crop", "flip")}
    (c,) = diagnose(TrainConfig(model="resnet18", dropout=0.5, dataset="mnist-mini"), epochs, [], 10)
    assert c.changes == {"augment": ("crop",)} and c.action == "Retry with crop augmentation"  # no mirrored digits
    assert diagnose(TrainConfig(model="lenet"), [ep(1, 0.8, 0.78), ep(2, 0.85, 0.8)], [], 10) == []


def test_slow_squared_error():
    epochs = [ep(1, 0.3, 0.3), ep(2, 0.45, 0.45)]
    (a,) = diagnose(TrainConfig(loss="mse"), epochs, [], 10)
    assert a.kind == "slow-mse" and a.apply(TrainConfig(loss="mse")).loss == "ce"
    assert diagnose(TrainConfig(loss="ce"), epochs, [], 10) == []


def test_every_follow_up_changes_only_config_fields_and_applies():
    stuck = [ep(1, 0.11, 0.1), ep(2, 0.1, 0.1)]
    cases = [(TrainConfig(model="mlp", hidden=(256, 128, 64), activation="sigmoid"), stuck, []),
             (TrainConfig(lr=1e-6), stuck, []), (TrainConfig(lr=1000.0), stuck, []), (TrainConfig(), stuck, []),
             (TrainConfig(model="resnet18", dropout=0.5), [ep(1, 0.8, 0.7), ep(2, 0.95, 0.72)], []),
             (TrainConfig(loss="mse"), [ep(1, 0.3, 0.3), ep(2, 0.45, 0.45)], []),
             (TrainConfig(lr=5.0), [], [{"kind": "Diverged", "epoch": 1, "batch": 3, "loss": float("inf")}])]
    seen = set()
    for cfg, epochs, notes in cases:
        for a in diagnose(cfg, epochs, notes, 10):
            assert isinstance(a, Advice) and set(a.changes) <= CONFIG_FIELDS and a.changes
            new = a.apply(cfg)
            assert all(getattr(new, k) == v for k, v in a.changes.items())
            seen.add(a.kind)
    assert seen == {"chance", "overfitting", "slow-mse", "diverged"}


# ------------------------------------------------------------------------ the four configurations
def test_group_sentence_for_a_typical_result():
    """The numbers of a real 3-epoch run of the four on 20 digits per class."""
    results = {("sgd", "ce"): 0.108, ("sgd", "mse"): 0.097, ("adam", "ce"): 0.733, ("adam", "mse"): 0.687}
    runs = []
    for cfg in four_configs(TrainConfig(dataset="mnist-mini", model="lenet", epochs=3)):
        acc = results[(cfg.optimizer, cfg.loss)]
        epochs = [ep(i, acc, acc) for i in (1, 2, 3)]
        runs.append((cfg.label(), cfg, epochs, [], {"best_test_acc": acc, "best_epoch": 3}))
    report = diagnose_group(runs)
    assert report.sentence == (
        "Adam + cross-entropy learned best: 73.3% test accuracy after 3 epochs; SGD + squared error learned "
        "least (9.7%, no better than chance at 10%): a step of SGD is the learning rate (0.001) × the gradient, "
        "and squared error through softmax gives small gradients.")
    assert set(report.advice) == {r[0] for r in runs}
    assert kinds(report.advice[runs[1][0]]) == ["chance"] and kinds(report.advice[runs[3][0]]) == ["slow-mse"]


def test_group_of_real_runs(tmp_path):
    base = TrainConfig(dataset="mnist-mini", model="lenet", epochs=3, train_per_class=50, device="cpu")
    data = prepare_data(base)
    runs = [record(cfg, data, tmp_path) for cfg in four_configs(base)]
    report = diagnose_group(runs)
    ranked = sorted(runs, key=lambda r: r[4]["best_test_acc"], reverse=True)  # (label, cfg, epochs, notes, summary)
    best, worst = ((f"{OPTIMIZER_NAMES[r[1].optimizer]} + {LOSS_NAMES[r[1].loss]}", r[4]["best_test_acc"])
                   for r in (ranked[0], ranked[-1]))
    assert best[0].startswith("Adam") and worst[0].startswith("SGD") and best[1] > worst[1] + 0.3
    assert report.sentence.startswith(f"{best[0]} learned best: {best[1]:.1%} test accuracy after 3 epochs; "
                                      f"{worst[0]} learned least ({worst[1]:.1%}")
    assert "a step of SGD is the learning rate (0.001) × the gradient" in report.sentence
    assert ("squared error through softmax" in report.sentence) == worst[0].endswith("squared error")
    assert len(report.advice) == 4


def test_group_as_job_views_partly_ended_diverged_and_mixed():
    sgd_ce, sgd_mse, adam_ce, adam_mse = four_configs(TrainConfig(dataset="mnist-mini", model="lenet"))

    def view(i, cfg, acc, notes=(), epochs=None):
        summary = None if acc == "running" else {"best_test_acc": acc, "best_epoch": None if acc is None else 2}
        return SimpleNamespace(id=f"job{i}", label=f"run {i}", config=cfg, notes=list(notes),
                               epochs=[ep(1, 0.5, 0.5), ep(2, 0.6, 0.6)] if epochs is None else epochs,
                               summary=summary)

    one = diagnose_group([view(1, sgd_ce, 0.5), view(2, sgd_mse, "running")])
    assert one.sentence == ""  # one run ended: nothing to compare yet
    assert set(one.advice) == {"job1", "job2"}                       # keyed by job id

    diverged = [{"kind": "Diverged", "epoch": 1, "batch": 3, "loss": float("nan")}]
    report = diagnose_group([view(1, sgd_ce, 0.6), view(2, sgd_mse, 0.7), view(3, adam_ce, 0.9),
                             view(4, TrainConfig(optimizer="adam", lr=1000.0, loss="mse"), None, diverged, [])])
    assert report.sentence.endswith("Adam + squared error diverged in epoch 1 (no model): its learning rate "
                                    "1000 was too high.")
    assert kinds(report.advice["job4"]) == ["diverged"] and "No model was kept" in report.advice["job4"][0].message


def test_group_compares_factors_only_when_nothing_else_differs():
    def run(label, cfg, acc):
        return label, cfg, [ep(1, acc, acc), ep(2, acc, acc)], [], {"best_test_acc": acc, "best_epoch": 2}

    mixed = diagnose_group([run("a", TrainConfig(model="lenet", loss="ce"), 0.9),
                            run("b", TrainConfig(model="mlp", loss="mse"), 0.5)])
    assert mixed.sentence.startswith("SGD + cross-entropy learned best: 90.0%")
    nothing = diagnose_group([("a", TrainConfig(lr=1000.0), [], [], {"best_test_acc": None, "best_epoch": None}),
                              ("b", TrainConfig(lr=500.0, loss="mse"), [], [], {"best_test_acc": None,
                                                                                  "best_epoch": None})])
    assert nothing.sentence.startswith("None of the runs kept a model")


# ------------------------------------------------------------------------ chance is 1/classes
def test_chance_is_one_over_the_classes_the_engine_reported(tmp_path):
    """30% on three classes is guessing; on ten it is learning. The doctor reads the class count from
    the job's Started event (nets.engine.events.Started.num_classes), not from an assumption."""
    from nets.engine.events import Started
    from nets.coach.doctor import diagnose_job

    def view(i, classes, cfg=TrainConfig(dataset="folder", folder=str(tmp_path / "gone"))):
        started = asdict(Started("cpu", 1_000, 24, 1, 2, "test", classes))
        return SimpleNamespace(id=f"job{i}", label=f"run {i}", config=cfg, notes=[], started_info=started,
                               epochs=[ep(1, 0.3, 0.3), ep(2, 0.3, 0.3)], summary={"best_test_acc": 0.3, "best_epoch": 2})

    (advice,) = diagnose_job(view(1, 3))
    assert advice.kind == "chance" and "(33%)" in advice.message
    assert diagnose_job(view(2, 10)) == []
    report = diagnose_group([view(3, 3), SimpleNamespace(**{**vars(view(4, 3)), "summary": {
        "best_test_acc": 0.9, "best_epoch": 2}})])
    assert "no better than chance at 33%" in report.sentence
    # without an event (a saved run's tuple), the dataset's own count: a folder's sub-folders
    for cls in ("a", "b", "c"):
        (tmp_path / "pets" / cls).mkdir(parents=True)
    folder = TrainConfig(dataset="folder", folder=str(tmp_path / "pets"))
    assert kinds(diagnose(folder, [ep(1, 0.3, 0.3), ep(2, 0.3, 0.3)], [])) == ["chance"]
    assert diagnose(TrainConfig(dataset="folder"), [ep(1, 0.0, 0.0), ep(2, 0.0, 0.0)], []) == []  # unknown: no verdict
