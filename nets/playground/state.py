"""Playground state: the whole configuration, the data, the model, its NumPy twin that trains, and the history."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from nets.playground import features as feats
from nets.playground.data import Data, DataConfig, make_data
from nets.playground.fast import FastNet, inputs
from nets.playground.model import NetConfig, PlaygroundNet, load_weights

LEARNING_RATES = (0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)  # TF's menu
REG_RATES = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
BATCH_SIZES = (1, 30)  # TF's slider range


@dataclass(frozen=True)
class PlaygroundConfig:
    data: DataConfig = field(default_factory=DataConfig)
    features: tuple[str, ...] = feats.DEFAULT
    net: NetConfig = field(default_factory=NetConfig)
    learning_rate: float = 0.03  # TF Playground's defaults
    batch_size: int = 10

    def changed(self, **changes) -> "PlaygroundConfig":
        """A copy with fields changed by name, whichever part they live in."""
        parts = {"data": {}, "net": {}, "top": {}}
        for k, v in changes.items():
            part = "data" if k in DataConfig.__dataclass_fields__ else \
                "net" if k in NetConfig.__dataclass_fields__ else "top"
            parts[part][k] = v
        return replace(self, data=replace(self.data, **parts["data"]), net=replace(self.net, **parts["net"]),
                       **parts["top"])


@dataclass
class PlaygroundState:
    cfg: PlaygroundConfig
    data: Data
    train_x: torch.Tensor  # feature columns
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    model: PlaygroundNet
    optimizer: torch.optim.Optimizer
    shuffle: torch.Generator
    order: torch.Tensor  # this epoch's order of the training points
    position: int = 0  # the next batch starts here in `order`
    batches: int = 0
    epoch: int = 0  # completed passes over the training points
    history: list[tuple[float, float, float]] = field(default_factory=list)  # (epoch, train, test)
    net: FastNet | None = None  # what trains (float64, fast.py); `model` is its float32 copy for the pictures
    xy: tuple[np.ndarray, np.ndarray] = ()  # the training points as FastNet takes them, and their labels
    test_xy: tuple[np.ndarray, np.ndarray] = ()
    uid: str = field(default_factory=lambda: uuid.uuid4().hex[:12])  # with `edits`: the network's version, so
    edits: int = 0  # a browser training it knows when the server changed it (nets/playground/live.py)

    def epochs_done(self) -> float:
        return self.epoch + self.position / max(len(self.order), 1)


def check(cfg: PlaygroundConfig) -> None:
    """ValueError with a message for the page when a setting is out of range."""
    if not BATCH_SIZES[0] <= cfg.batch_size <= BATCH_SIZES[1]:
        raise ValueError(f"Batch size is {BATCH_SIZES[0]} to {BATCH_SIZES[1]} points.")
    if cfg.net.batch_norm and cfg.batch_size < 2:
        raise ValueError("Batch norm needs batches of at least 2 points.")
    if not 0 < cfg.learning_rate <= 10:
        raise ValueError("The learning rate is above 0 and at most 10.")
    feats.check(cfg.features)


def new_state(cfg: PlaygroundConfig, init_seed: int = 0, weights=None) -> PlaygroundState:
    """Fresh data, a fresh network (weights from init_seed, or `weights` in flat_weights' order) and epoch 0."""
    check(cfg)
    data = make_data(cfg.data)
    g = torch.Generator().manual_seed(init_seed)
    model = PlaygroundNet(len(cfg.features), cfg.net, data.classes, generator=g)
    if weights is not None:
        load_weights(model, weights)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.learning_rate)
    state = PlaygroundState(cfg, data, feats.columns(data.train_x, cfg.features), torch.from_numpy(data.train_y),
                            feats.columns(data.test_x, cfg.features), torch.from_numpy(data.test_y),
                            model, optimizer, g, torch.randperm(len(data.train_y), generator=g))
    state.net, state.xy, state.test_xy = FastNet.from_model(model, init_seed), inputs(state), inputs(state, True)
    return state


def set_learning_rate(state: PlaygroundState, lr: float) -> None:
    """TF Playground changes the rate without a reset: so do we."""
    for group in state.optimizer.param_groups:
        group["lr"] = lr
    state.cfg = replace(state.cfg, learning_rate=lr)
