"""What the training engine reports: plain event objects, from Started to Finished, in the order fit sends them."""
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
class Finished:
    reason: Status            # completed, stopped, early-stopped, converged or diverged
    best_acc: float | None    # on the split that picks the best model
    best_epoch: int | None
    epochs_run: int
    seconds: float
    images_per_s: float


Event = Started | BatchProgress | EpochEnd | NewBest | EarlyStopped | Converged | Diverged | Stopped | Finished
