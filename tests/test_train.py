import time
import threading
from dataclasses import replace

import pytest
import torch

from nets.engine.config import ConfigError, TrainConfig, validate
from nets.engine.evaluate import evaluate
from nets.engine.models import build_model
from nets.experiment import prepare_data
from pagetools import NaNFrom
from nets.engine.events import (BatchProgress, Converged, Diverged, EarlyStopped, EpochEnd, Finished, LayerStats,
                                NewBest, Started, StatsPlan, Stopped)
from nets.engine.train import fit


@pytest.fixture(scope="module")
def small():
    """Real MNIST digits: 50 per class to train on, the bundled 1,000 to test on."""
    return prepare_data(TrainConfig(dataset="mnist-mini", train_per_class=50))


def train(data, events=None, stop=None, net=None, **cfg):
    cfg = TrainConfig(**{"model": "mlp", "lr": 0.05, "epochs": 3, "batch_size": 32, "log_every": 5, "stats_every": 0, **cfg})
    torch.manual_seed(cfg.seed)
    net = net or build_model(cfg.model, data.input_shape, data.num_classes, **cfg.model_kwargs())
    events = [] if events is None else events
    return fit(net, data, cfg, events.append, stop), events


def of(events, kind):
    return [e for e in events if isinstance(e, kind)]


def test_training_lowers_the_loss_and_beats_chance(small):
    result, events = train(small, model="lenet", epochs=4)
    epochs = of(events, EpochEnd)
    assert epochs[-1].train_loss < epochs[0].train_loss * 0.8
    assert result.finished.best_acc > 0.6  # chance is 0.1
    assert isinstance(events[0], Started) and isinstance(events[-1], Finished)
    assert result.finished.reason == "completed" and result.finished.epochs_run == 4


def test_squared_error_loss_trains(small):
    result, events = train(small, loss="mse", optimizer="adam", lr=0.003, epochs=4)
    epochs = of(events, EpochEnd)
    assert epochs[-1].train_loss < epochs[0].train_loss
    assert result.finished.best_acc > 0.4


def test_progress_events_follow_the_log_interval(small):
    # 10 batches: progress at 4, 8, 10 (the time rule is off: a slow machine would add events)
    _, events = train(small, epochs=1, batch_size=50, log_every=4, log_seconds=0)
    progress = of(events, BatchProgress)
    assert [p.batch for p in progress] == [4, 8, 10]
    assert progress[-1].images_seen == 500 and all(p.images_per_s > 0 for p in progress)
    assert progress[-1].eta_s == pytest.approx(0, abs=1e-6)


def test_progress_also_comes_every_log_seconds(small):
    """A live chart needs points often, whatever log_every says: here every batch takes at least
    20 ms (the stop check sleeps), so a 10 ms interval gives a progress event after every batch."""
    def slow_stop():
        time.sleep(0.02)
        return False
    cfg = TrainConfig(model="mlp", lr=0.05, epochs=1, batch_size=50, log_every=1000, log_seconds=0.01)
    events = []
    fit(build_model("mlp", small.input_shape, 10), small, cfg, events.append, slow_stop)
    assert [p.batch for p in of(events, BatchProgress)] == list(range(1, 11))


def test_best_model_is_kept_and_loaded(small):
    result, events = train(small, epochs=4, lr=0.5, optimizer="sgd")  # noisy enough to go up and down
    accs = [e.test_acc for e in of(events, EpochEnd)]
    best = of(events, NewBest)[-1]
    assert best.accuracy == max(accs) and best.epoch == accs.index(max(accs)) + 1
    final = evaluate(result.model, small.x_test, small.y_test, small.mean, small.std, small.classes)
    assert final.accuracy == pytest.approx(best.accuracy)


def test_validation_split_picks_the_best(small):
    data = prepare_data(TrainConfig(train_per_class=50, val_fraction=0.1))
    _, events = train(data, epochs=2)
    assert all(b.split == "val" for b in of(events, NewBest))
    assert all(e.val_acc is not None for e in of(events, EpochEnd))


def test_stop_within_one_batch_keeps_a_model(small):
    checks = []

    def stop():
        checks.append(1)
        return len(checks) > 3  # asked before batch 4 of epoch 1

    result, events = train(small, stop=stop, epochs=5)
    stopped = of(events, Stopped)
    assert stopped == [Stopped(epoch=1, batch=3)]
    assert result.finished.reason == "stopped" and result.best_state is not None
    assert of(events, NewBest)[0].epoch == 1


def test_stop_from_another_thread(small):
    stop, first_epoch, events = threading.Event(), threading.Event(), []

    def on(e):
        events.append(e)
        if isinstance(e, EpochEnd):
            first_epoch.set()

    cfg = TrainConfig(model="mlp", epochs=1000, batch_size=32, log_every=5)
    worker = threading.Thread(target=fit, args=(build_model("mlp", small.input_shape, 10), small, cfg, on, stop))
    worker.start()
    assert first_epoch.wait(60)
    stop.set()
    worker.join(30)
    assert not worker.is_alive()
    assert of(events, Finished)[0].reason == "stopped" and len(of(events, EpochEnd)) < 10


def test_early_stopping(small):
    # a learning rate so small that accuracy cannot improve after the first epoch
    result, events = train(small, lr=1e-9, epochs=10, patience=2)
    assert of(events, EarlyStopped) == [EarlyStopped(epoch=3, best_epoch=1, patience=2)]
    assert result.finished.reason == "early-stopped" and result.finished.epochs_run == 3


def test_divergence_is_named_and_best_model_kept(small):
    # 500 images / 50 = 10 batches per epoch; NaN from epoch 2, batch 7 on
    model = NaNFrom(build_model("mlp", small.input_shape, 10), after=10 + 7)
    result, events = train(small, net=model, batch_size=50, log_every=4, epochs=3)
    assert of(events, Diverged)[0].epoch == 2 and of(events, Diverged)[0].batch == 7
    assert result.finished.reason == "diverged" and result.finished.best_epoch == 1
    assert all(torch.isfinite(v).all() for v in result.model.state_dict().values())
    assert len(of(events, EpochEnd)) == 1


def test_a_huge_learning_rate_diverges(small):
    result, events = train(small, model="lenet", lr=1000.0, epochs=2)
    assert result.finished.reason == "diverged" and of(events, Diverged)


def test_same_seed_same_run(small):
    a = [e.train_loss for e in of(train(small, epochs=2, augment=("flip",))[1], EpochEnd)]
    b = [e.train_loss for e in of(train(small, epochs=2, augment=("flip",))[1], EpochEnd)]
    c = [e.train_loss for e in of(train(small, epochs=2, augment=("flip",), seed=1)[1], EpochEnd)]
    assert a == b and a != c


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop"])
def test_every_optimizer_learns(small, optimizer):
    lr = 0.05 if optimizer == "sgd" else 0.002
    result, _ = train(small, optimizer=optimizer, lr=lr, epochs=2, nesterov=optimizer == "sgd")
    assert result.finished.best_acc > 0.5


def test_schedules_change_the_learning_rate(small):
    _, events = train(small, schedule="cosine", epochs=3, lr=0.1)
    lrs = [e.lr for e in of(events, EpochEnd)]
    assert lrs[0] == pytest.approx(0.1) and lrs[0] > lrs[1] > lrs[2]
    _, events = train(small, schedule="step", step_size=1, gamma=0.5, epochs=3, lr=0.1)
    assert [e.lr for e in of(events, EpochEnd)] == pytest.approx([0.1, 0.05, 0.025])


def test_augmentation_clipping_and_batchnorm_train(small):
    result, _ = train(small, model="cnn5", augment=("crop", "flip", "jitter"), clip_grad=1.0,
                      batch_norm=True, epochs=1, optimizer="adam", lr=0.002, batch_size=499)
    assert result.finished.reason == "completed"  # 500 = 499 + 1: the lone last image is dropped


def test_batch_larger_than_dataset_is_one_batch(small):
    _, events = train(small, batch_size=10_000, epochs=1)
    assert of(events, Started)[0].batches_per_epoch == 1


def test_settings_that_cannot_train_are_explained(small):
    for bad, words in [(dict(lr=0.0), "learning rate"), (dict(epochs=0), "epochs"),
                       (dict(batch_size=0), "batch size"), (dict(optimizer="lbfgs"), "optimizer"),
                       (dict(augment=("blur",)), "augmentation"), (dict(model="lenet", hidden=(3,)), "no option"),
                       (dict(nesterov=True, optimizer="adam"), "Nesterov"), (dict(lr=float("nan")), "learning rate")]:
        with pytest.raises(ConfigError, match=words):
            validate(replace(TrainConfig(), **bad))
    with pytest.raises(ConfigError, match="at least 2 images"):
        train(small, batch_size=1, batch_norm=True)


def test_config_round_trips_through_a_dict():
    cfg = TrainConfig(model="mlp", hidden=(256, 128, 64), augment=("flip",), dropout=0.2)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert TrainConfig.from_dict({**cfg.to_dict(), "from_the_future": 1}) == cfg
    assert cfg.model_kwargs() == {"hidden": (256, 128, 64), "dropout": 0.2}


def test_absurd_widths_are_refused_before_anything_is_built():
    for bad in (dict(model="mlp", hidden=(100_000_000,)), dict(model="cnn5", channels=(32, 10_000)),
                dict(model="mlp", hidden=(8,) * 40)):
        with pytest.raises(ConfigError, match="at most 16 numbers"):
            validate(replace(TrainConfig(), **bad))


def test_started_reports_the_datasets_own_class_count(tmp_path, monkeypatch):
    """A folder of images has as many classes as sub-folders (here 3), never the named datasets' 10."""
    from PIL import Image
    monkeypatch.setenv("NNLAB_DATA_DIR", str(tmp_path))  # a folder dataset lies inside the data root
    for i, cls in enumerate(("circle", "square", "star")):
        (tmp_path / "shapes" / cls).mkdir(parents=True)
        for j in range(6):
            Image.new("RGB", (8, 8), (90 * i, 20 * j, 0)).save(tmp_path / "shapes" / cls / f"{j}.png")
    cfg = TrainConfig(dataset="folder", folder="shapes", image_size=8)
    data = prepare_data(cfg, tmp_path)
    _, events = train(data, epochs=1)
    assert of(events, Started)[0].num_classes == 3 == data.num_classes == cfg.num_classes()
    _, events = train(prepare_data(TrainConfig(dataset="mnist-mini", train_per_class=2)), epochs=1)
    assert of(events, Started)[0].num_classes == 10


def kinds(events):
    """Each event's kind, with the fields that place it: a progress event's batch, an epoch's number."""
    place = {BatchProgress: lambda e: e.batch, EpochEnd: lambda e: e.epoch, NewBest: lambda e: e.epoch,
             Stopped: lambda e: (e.epoch, e.batch), Diverged: lambda e: (e.epoch, e.batch),
             EarlyStopped: lambda e: (e.epoch, e.best_epoch), Converged: lambda e: e.epoch,
             Finished: lambda e: (e.reason, e.epochs_run, e.best_epoch), Started: lambda e: e.batches_per_epoch,
             StatsPlan: lambda e: e.every, LayerStats: lambda e: tuple(e.step)}
    return [(type(e).__name__, place[type(e)](e)) for e in events]


# 500 images in batches of 50: 10 batches an epoch, progress after batches 4, 8 and 10 (log_every=4,
# the time rule off). A learning rate of 1e-9 leaves the accuracy of epoch 1 unbeaten (a new best
# must be strictly better), so NewBest comes once, after the first EpochEnd.
EPOCH = [("BatchProgress", 4), ("BatchProgress", 8), ("BatchProgress", 10)]
EVENT_ORDERS = {
    "completed": (dict(lr=1e-9, epochs=2), None, None,
                  [("Started", 10), *EPOCH, ("EpochEnd", 1), ("NewBest", 1), *EPOCH, ("EpochEnd", 2),
                   ("Finished", ("completed", 2, 1))]),
    "early-stopped": (dict(lr=1e-9, epochs=10, patience=2), None, None,
                      [("Started", 10), *EPOCH, ("EpochEnd", 1), ("NewBest", 1), *EPOCH, ("EpochEnd", 2),
                       *EPOCH, ("EpochEnd", 3), ("EarlyStopped", (3, 1)), ("Finished", ("early-stopped", 3, 1))]),
    "converged": (dict(lr=1e-9, epochs=5, converge_patience=1, converge_delta=1.0), None, None,
                  [("Started", 10), *EPOCH, ("EpochEnd", 1), ("NewBest", 1), *EPOCH, ("EpochEnd", 2),
                   ("Converged", 2), ("Finished", ("converged", 2, 1))]),
    # the stop is asked before the 14th batch: epoch 2 ends after 3 batches, before its first progress
    "stopped": (dict(lr=1e-9, epochs=5), 13, None,
                [("Started", 10), *EPOCH, ("EpochEnd", 1), ("NewBest", 1), ("Stopped", (2, 3)),
                 ("Finished", ("stopped", 1, 1))]),
    # stopped before any batch trained: no model to keep, so no NewBest
    "stopped at once": (dict(epochs=5), 0, None,
                        [("Started", 10), ("Stopped", (1, 0)), ("Finished", ("stopped", 0, None))]),
    # stopped inside epoch 1: the half-trained model is evaluated and kept
    "stopped in epoch 1": (dict(epochs=5), 2, None,
                           [("Started", 10), ("Stopped", (1, 2)), ("NewBest", 1), ("Finished", ("stopped", 0, 1))]),
    # NaN from epoch 2's 7th batch: progress after its 4th, the flush after its 8th finds batch 7
    # layer statistics at step 1 and every 3rd step, each interval's records just before its progress
    "completed with statistics": (dict(lr=1e-9, epochs=2, stats_every=3), None, None,
                                  [("Started", 10), ("StatsPlan", 3), ("LayerStats", (1, 3)), ("BatchProgress", 4),
                                   ("LayerStats", (6,)), ("BatchProgress", 8), ("LayerStats", (9,)),
                                   ("BatchProgress", 10), ("EpochEnd", 1), ("NewBest", 1),
                                   ("LayerStats", (12,)), ("BatchProgress", 4), ("LayerStats", (15, 18)),
                                   ("BatchProgress", 8), ("BatchProgress", 10), ("EpochEnd", 2),
                                   ("Finished", ("completed", 2, 1))]),
    # a stop before batch 7: the record of step 6, taken after the last progress, still comes
    "stopped with statistics": (dict(epochs=5, stats_every=2), 6, None,
                                [("Started", 10), ("StatsPlan", 2), ("LayerStats", (1, 2, 4)), ("BatchProgress", 4),
                                 ("LayerStats", (6,)), ("Stopped", (1, 6)), ("NewBest", 1),
                                 ("Finished", ("stopped", 0, 1))]),
    "diverged": (dict(lr=1e-9, epochs=3), None, 10 + 7,
                 [("Started", 10), *EPOCH, ("EpochEnd", 1), ("NewBest", 1), ("BatchProgress", 4),
                  ("Diverged", (2, 7)), ("Finished", ("diverged", 1, 1))]),
}


@pytest.mark.parametrize("name", EVENT_ORDERS)
def test_events_come_in_their_documented_kinds_and_order(small, name):
    cfg, stop_after, nan_after, expected = EVENT_ORDERS[name]
    checks = []

    def stop():
        checks.append(1)
        return stop_after is not None and len(checks) > stop_after  # checked before every batch

    net = NaNFrom(build_model("mlp", small.input_shape, 10), after=nan_after) if nan_after else None
    result, events = train(small, stop=stop, net=net, batch_size=50, log_every=4, log_seconds=0, **cfg)
    assert kinds(events) == expected
    assert result.finished.reason == name.split()[0] and result.finished is events[-1]


def test_the_cpu_trains_through_the_same_scaler_calls_disabled(small, monkeypatch):
    """No branch on mixed precision around the optimiser step: on the CPU the GradScaler is there,
    disabled, and called at every batch exactly as on a GPU in float16 (then it does nothing)."""
    calls, scalers = [], []

    class Recording(torch.amp.GradScaler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            scalers.append(self)

        def scale(self, outputs):
            calls.append("scale")
            return super().scale(outputs)

        def unscale_(self, optimizer):
            calls.append("unscale_")
            return super().unscale_(optimizer)

        def step(self, optimizer, *args, **kwargs):
            calls.append("step")
            return super().step(optimizer, *args, **kwargs)

        def update(self, new_scale=None):
            calls.append("update")
            return super().update(new_scale)

    monkeypatch.setattr(torch.amp, "GradScaler", Recording)
    result, _ = train(small, epochs=2, batch_size=50, device="cpu", clip_grad=1.0)
    assert len(scalers) == 1 and not scalers[0].is_enabled()
    assert calls == ["scale", "unscale_", "step", "update"] * 20  # 10 batches, 2 epochs
    assert result.finished.reason == "completed"


def test_an_enabled_scaler_trains_as_the_disabled_one(small, monkeypatch):
    """The float16 path of a GPU, run on the CPU: the same calls with the scaler enabled scale the loss
    by a power of two and unscale the gradients before clipping and the step, which is exact, so
    the run is the same number for number."""
    def run():
        result, events = train(small, epochs=2, batch_size=50, device="cpu", clip_grad=0.5)
        return [(e.train_loss, e.test_loss) for e in of(events, EpochEnd)], result.model.state_dict()

    plain_losses, plain_weights = run()
    scalers, real = [], torch.amp.GradScaler

    def enabled_on_the_cpu(*args, **kwargs):
        scalers.append(real("cpu", enabled=True))
        return scalers[-1]

    monkeypatch.setattr(torch.amp, "GradScaler", enabled_on_the_cpu)
    scaled_losses, scaled_weights = run()
    assert len(scalers) == 1 and scalers[0].is_enabled() and scalers[0].get_scale() > 1
    assert scaled_losses == plain_losses
    assert all(torch.equal(plain_weights[k], scaled_weights[k]) for k in plain_weights)
