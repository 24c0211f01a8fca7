"""Runs for the export tests: the shipped example copied into a temporary folder, and untrained runs of any model."""
import shutil
from pathlib import Path

import torch

from nets.engine.config import TrainConfig
from nets.engine.models import build_model
from nets.runs import DEFAULT_ROOT, Run, create_run, get_run, save_best, update_run

SHIPPED = "lenet-mnist-mini"


def shipped_run(tmp_path: Path) -> Run:
    root = tmp_path / "shipped"
    shutil.copytree(DEFAULT_ROOT / SHIPPED, root / SHIPPED)
    return get_run(root, SHIPPED)


def fake_run(root: Path, cfg: TrainConfig, in_shape, classes=None, history=(), seed=0) -> Run:
    """A run with untrained weights of cfg's model (no training): for models too slow to train here."""
    classes = list(classes or [str(i) for i in range(10)])
    c = in_shape[0]
    run = create_run(root, cfg, {"classes": classes, "mean": [0.3, 0.4, 0.5][:c] if c <= 3 else [0.0] * c,
                                 "std": [0.25] * c, "scale": 255.0 if c <= 3 else 1.0, "input_shape": list(in_shape),
                                 "num_classes": len(classes)})
    torch.manual_seed(seed)
    net = build_model(cfg.model, in_shape, len(classes), **cfg.model_kwargs())
    save_best(run, net.state_dict(), best={"epoch": 1, "accuracy": 0.1, "split": "test"})
    update_run(run, status="completed", history=list(history), epochs_run=len(history))
    return get_run(root, run.id)


def stats_run(root: Path, name: str = "inside", epochs: int = 2, records: int = 6, **synthetic_kw) -> Run:
    """A saved 2-layer-MLP run (untrained weights, `epochs` history entries) with synthetic layer
    statistics (add_stats). Export it with dataset=no_data: the test images are not needed."""
    cfg = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(8,), epochs=epochs, name=name)
    history = [{"epoch": e, "train_loss": 2.0 / e, "train_acc": 0.3 * e, "test_loss": 2.1 / e, "test_acc": 0.25 * e,
                "val_loss": None, "val_acc": None, "lr": 0.01, "seconds": 1.5} for e in range(1, epochs + 1)]
    return add_stats(fake_run(root, cfg, (1, 28, 28), history=history), records, **synthetic_kw)


def add_stats(run: Run, records: int = 6, **synthetic_kw) -> Run:
    """The run with tests/dynamicstools.synthetic(records, layers fc1 and fc2, ...) saved as its layer
    statistics, the records split evenly over its epochs, one chunk per epoch as RunRecorder saves them."""
    import numpy as np
    from dynamicstools import synthetic

    from nets.runs.dynamics import write_chunk
    epochs = max(1, len(run.info.get("history") or []))
    d = synthetic(records=records, **{"layers": ("fc1", "fc2"), **synthetic_kw})
    d.epoch = np.repeat(np.arange(1, epochs + 1), -(-records // epochs))[:records]
    for e in range(1, epochs + 1):
        write_chunk(run, d.take(np.flatnonzero(d.epoch == e)), epoch=e)
    return get_run(run.path.parent, run.id)


def no_data(run):
    """A dataset loader for exports whose test images are not on this server."""
    from nets.engine.data import DatasetError
    raise DatasetError("not here")
