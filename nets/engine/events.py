"""What the training engine reports: plain event objects, from Started to Finished, in the order fit sends them (and LRPoint, the range test's)."""
from __future__ import annotations

from dataclasses import dataclass, field

from nets.status import Status


@dataclass
class Started:
    device: str
    params: int
    train_size: int
    batches_per_epoch: int
    epochs: int
    eval_split: str           # "val" or "test": the split that picks the best model
    num_classes: int          # the dataset's classes: guessing scores 1/num_classes


@dataclass
class StatsPlan:
    """What the layer statistics will hold (sent once, after Started, when cfg.stats_every > 0)."""
    every: int                # a record every this many optimiser steps (raised so a run keeps <= 10,000)
    window: int               # activation statistics cover this many steps up to each record
    layers: list[str]         # the L weight layers (Linear and Conv), e.g. "conv1", "fc3"
    layer_kinds: list[str]    # "linear" or "conv"
    sites: list[str]          # the S activation outputs, e.g. "relu after conv1"
    site_kinds: list[str]     # "relu", "leaky_relu", "sigmoid" or "tanh"


@dataclass
class LayerStats:
    """The records taken since the last progress event (k of them; lists are k long). Per layer: the
    norms of W, of its gradient (after clipping, as the optimiser saw it) and of the real update Δw;
    per activation site over the window: mean, std, the share of dead units (ReLUs that never fired;
    NaN for other kinds) and of saturated ones (sigmoid < .01 or > .99, tanh |a| > .97; NaN for
    ReLUs); histograms on nets.engine.bins (weights and gradients: log |x|; activations by kind); and
    of the output: the share of images the softmax was >= .99 sure of, the share of those it got
    wrong, and the mean top probability."""
    step: list[int]
    epoch: list[int]
    batch: list[int]
    images_seen: list[int]
    lr: list[float]
    weight_norm: list[list[float]]        # k x L
    grad_norm: list[list[float]]
    update_norm: list[list[float]]
    act_mean: list[list[float]]           # k x S
    act_std: list[list[float]]
    dead: list[list[float]]
    saturated: list[list[float]]
    hist_weight: list[list[list[int]]]    # k x L x BINS
    hist_grad: list[list[list[int]]]
    hist_act: list[list[list[int]]]       # k x S x BINS
    out_confident: list[float]
    out_confident_wrong: list[float]
    out_max_p: list[float]


@dataclass
class BatchProgress:
    epoch: int                # 1-based
    batch: int                # 1-based, within the epoch
    batches: int
    loss: float               # mean training loss since the previous progress event
    images_seen: int          # since the start of the run
    images_per_s: float
    eta_s: float              # to the end of the last epoch


@dataclass
class EpochEnd:
    epoch: int
    train_loss: float
    train_acc: float
    test_loss: float
    test_acc: float
    val_loss: float | None
    val_acc: float | None
    lr: float
    seconds: float            # wall time of this epoch, evaluation included
    images_per_s: float       # training throughput of this epoch

    def eval_acc(self) -> float:
        return self.val_acc if self.val_acc is not None else self.test_acc


@dataclass
class NewBest:
    epoch: int
    accuracy: float
    split: str
    state_dict: dict = field(repr=False)  # CPU copy of the weights


@dataclass
class EarlyStopped:
    epoch: int
    best_epoch: int
    patience: int


@dataclass
class Converged:
    epoch: int
    patience: int
    delta: float              # the training loss improved by less than this, patience epochs running


@dataclass
class Diverged:
    epoch: int
    batch: int
    loss: float


@dataclass
class Stopped:
    epoch: int
    batch: int


@dataclass
class LRPoint:
    """One step of the learning-rate range test (nets.engine.lrfind), not of fit."""
    step: int                 # 0-based
    lr: float                 # the rate this step trained with
    loss: float               # its raw training loss (NaN or inf where it blew up: the test's last point)
    smooth: float             # the debiased moving average of the losses so far (fastai's)


@dataclass
class Finished:
    reason: Status            # completed, stopped, early-stopped, converged or diverged
    best_acc: float | None    # on the split that picks the best model
    best_epoch: int | None
    epochs_run: int
    seconds: float
    images_per_s: float


Event = Started | StatsPlan | LayerStats | BatchProgress | EpochEnd | NewBest | EarlyStopped | Converged | Diverged | Stopped | Finished | LRPoint
