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
