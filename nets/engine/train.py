"""The one training loop of the app.

`fit` trains a model on an `ImageData` according to a `TrainConfig` and reports through plain event
objects passed to `on_event`; `run_training` adds loading the data, building the model and saving
the run. Everything that trains (the command line, the pages, the benchmark) goes through `fit`.

Why it is fast: the dataset sits on the training device as uint8 tensors, a batch is an index
slice of a random permutation, augmentation runs batched on the device, and the host waits for the
device only every `log_every` batches or `log_seconds` seconds, whichever comes first (running sums
stay on the device): a live chart gets points every quarter second without a sync per batch. On CUDA it adds mixed
precision and channels-last.
"""
from __future__ import annotations

import math
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field

import torch
from torch import nn

from nets.engine.augment import augment
from nets.engine.config import ConfigError, TrainConfig, validate
from nets.engine.data import ImageData, stats_tensors, to_input
from nets.engine.device import amp_dtype, pick_device
from nets.engine.evaluate import evaluate
from nets.engine.losses import compute_loss
from nets.engine.models import count_params, is_convolutional


# ------------------------------------------------------------------------------------- events
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
    reason: str               # completed, stopped, early-stopped, converged or diverged
    best_acc: float | None    # on the split that picks the best model
    best_epoch: int | None
    epochs_run: int
    seconds: float
    images_per_s: float


Event = Started | BatchProgress | EpochEnd | NewBest | EarlyStopped | Converged | Diverged | Stopped | Finished


@dataclass
class FitResult:
    model: nn.Module          # with the best weights loaded (when there was a best)
    history: list[EpochEnd]
    finished: Finished
    best_state: dict | None


# ------------------------------------------------------------------------------------- pieces
def make_optimizer(cfg: TrainConfig, params) -> torch.optim.Optimizer:
    params = [p for p in params if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                               weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    raise ConfigError(f"Unknown optimizer '{cfg.optimizer}'.")


def make_schedule(cfg: TrainConfig, opt):
    if cfg.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    return None


class _Tally:
    """Per-batch losses and logits, kept on the device and summed only at a logging interval, so
    training never waits for the host in between (one sync per flush)."""

    def __init__(self):
        self.pending: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self.loss_sum, self.correct, self.batches = 0.0, 0, 0
        self.last_loss = self.bad_loss = float("nan")

    def add(self, loss, logits, y) -> None:
        self.pending.append((loss.detach(), logits.detach(), y))

    def flush(self) -> int | None:
        """Fold the pending batches into the totals; the epoch's batch index (0-based) of the first
        non-finite loss, or None."""
        losses = torch.stack([p[0].float() for p in self.pending])
        right = (torch.cat([p[1] for p in self.pending]).argmax(1) == torch.cat([p[2] for p in self.pending])).sum()
        *values, right = torch.cat([losses, right.view(1).float()]).tolist()
        sizes = [len(p[2]) for p in self.pending]
        self.pending.clear()
        for i, v in enumerate(values):
            if not math.isfinite(v):
                self.bad_loss = v
                return self.batches + i
        total = sum(v * s for v, s in zip(values, sizes))
        self.loss_sum += total
        self.correct += int(right)
        self.batches += len(values)
        self.last_loss = total / sum(sizes)
        return None


def _converged(history: list[EpochEnd], cfg: TrainConfig) -> bool:
    """The training loss has stopped falling: each of the last `converge_patience` epochs improved
    on the best loss before it by less than `converge_delta`."""
    losses = [h.train_loss for h in history]
    if len(losses) <= cfg.converge_patience:
        return False
    return all(min(losses[:i]) - losses[i] < cfg.converge_delta
               for i in range(len(losses) - cfg.converge_patience, len(losses)))


def _stop_requested(stop) -> bool:
    if stop is None:
        return False
    return stop.is_set() if isinstance(stop, threading.Event) else bool(stop())


def _has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


# ------------------------------------------------------------------------------------- the loop
def fit(model: nn.Module, data: ImageData, cfg: TrainConfig, on_event=None, stop=None) -> FitResult:
    """Train `model` on `data` as `cfg` says. `stop` is a threading.Event or a callable; it is checked
    before every batch, so a stop takes effect within one batch. The best weights by validation (or
    test) accuracy are loaded into the model at the end, whatever ended the run."""
    validate(cfg)
    emit = on_event or (lambda event: None)
    device = pick_device(cfg.device)
    if cfg.batch_size == 1 and _has_batchnorm(model):
        raise ConfigError("Batch norm needs at least 2 images per batch; raise the batch size or "
                          "turn batch norm off.")
    channels_last = is_convolutional(model) if cfg.channels_last is None else cfg.channels_last
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model.to(device=device, memory_format=memory_format)
    use_amp = cfg.amp and device.type == "cuda"
    half = amp_dtype() if use_amp else None
    autocast = (lambda: torch.autocast("cuda", dtype=half)) if use_amp else nullcontext
    scaler = torch.amp.GradScaler("cuda", enabled=half == torch.float16)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    x, y = data.x_train.to(device), data.y_train.to(device)
    n = len(x)
    if n == 0:
        raise ConfigError("The training set is empty.")
    mean_t, std_t = stats_tensors(data.mean, data.std, device)
    # Without augmentation the whole set is normalised once, so a batch is a single index_select.
    pre_normalised = not cfg.augment and x.numel() * 4 <= 2 ** 31
    if pre_normalised:
        x = to_input(x, mean_t, std_t, data.scale).contiguous(memory_format=memory_format)
    eval_split = data.eval_split()[0]
    opt = make_optimizer(cfg, model.parameters())
    sched = make_schedule(cfg, opt)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    bs = min(cfg.batch_size, n)
    batches = math.ceil(n / bs)
    if n % bs == 1 and _has_batchnorm(model):
        batches -= 1  # a last batch of one image breaks batch norm: drop it this epoch
    emit(Started(str(device), count_params(model), n, batches, cfg.epochs, eval_split, data.num_classes))

    history: list[EpochEnd] = []
    best_state, best_acc, best_epoch = None, None, None
    reason, images_seen, train_seconds = "completed", 0, 0.0
    t_run = last_log = time.perf_counter()

    def eval_split_of(split_x, split_y):
        return evaluate(model, split_x, split_y, data.mean, data.std, data.classes, cfg.loss,
                        device=device, channels_last=channels_last, amp=use_amp, scale=data.scale)

    def keep_best(epoch: int, acc: float):
        nonlocal best_state, best_acc, best_epoch
        best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        best_acc, best_epoch = acc, epoch
        emit(NewBest(epoch, acc, eval_split, best_state))

    for epoch in range(1, cfg.epochs + 1):
        model.train()
        t_epoch = time.perf_counter()
        perm = torch.randperm(n, device=device, generator=gen)
        tally = _Tally()
        seen = 0
        stopped_at = diverged = None
        for b in range(batches):
            if _stop_requested(stop):
                stopped_at = b
                break
            idx = perm[b * bs:(b + 1) * bs]
            if pre_normalised:
                xb = x.index_select(0, idx)
            else:
                xb = x.index_select(0, idx).float().div_(data.scale)
                if cfg.augment:
                    xb = augment(xb, cfg.augment, gen)
                xb = xb.sub_(mean_t).div_(std_t).contiguous(memory_format=memory_format)
            yb = y.index_select(0, idx)
            with autocast():
                logits = model(xb)
                loss = compute_loss(cfg.loss, logits, yb)
            opt.zero_grad(set_to_none=True)
            if scaler.is_enabled():
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
            else:
                loss.backward()
            if cfg.clip_grad > 0:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
            if scaler.is_enabled():
                scaler.step(opt)
                scaler.update()
            else:
                opt.step()
            tally.add(loss, logits, yb)
            seen += len(idx)
            now = time.perf_counter()
            if ((b + 1) % cfg.log_every == 0 or b == batches - 1
                    or (cfg.log_seconds and now - last_log >= cfg.log_seconds)):
                last_log = now
                bad = tally.flush()  # the one host sync per logging interval
                if bad is not None:
                    diverged = Diverged(epoch, bad + 1, tally.bad_loss)
                    break
                elapsed = train_seconds + time.perf_counter() - t_epoch
                rate = (images_seen + seen) / max(elapsed, 1e-9)
                left = (cfg.epochs - epoch) * batches * bs + (n - seen)
                emit(BatchProgress(epoch, b + 1, batches, tally.last_loss, images_seen + seen, rate,
                                   left / max(rate, 1e-9)))
        images_seen += seen
        train_seconds += time.perf_counter() - t_epoch

        if diverged is not None:
            emit(diverged)
            reason = "diverged"
            break
        if stopped_at is not None:
            emit(Stopped(epoch, stopped_at))
            reason = "stopped"
            if best_state is None and seen > 0:  # stopped inside the first epoch: keep what we have
                acc = eval_split_of(*data.eval_split()[1:]).accuracy
                keep_best(epoch, acc)
            break

        train_time = time.perf_counter() - t_epoch
        test = eval_split_of(data.x_test, data.y_test)
        val = eval_split_of(data.x_val, data.y_val) if eval_split == "val" else None
        end = EpochEnd(epoch, tally.loss_sum / seen, tally.correct / seen, test.loss, test.accuracy,
                       val.loss if val else None, val.accuracy if val else None,
                       opt.param_groups[0]["lr"], time.perf_counter() - t_epoch, seen / train_time)
        history.append(end)
        emit(end)
        if best_acc is None or end.eval_acc() > best_acc:
            keep_best(epoch, end.eval_acc())
        if sched is not None:
            sched.step()
        if cfg.patience and epoch - best_epoch >= cfg.patience and epoch < cfg.epochs:
            emit(EarlyStopped(epoch, best_epoch, cfg.patience))
            reason = "early-stopped"
            break
        if cfg.converge_patience and epoch < cfg.epochs and _converged(history, cfg):
            emit(Converged(epoch, cfg.converge_patience, cfg.converge_delta))
            reason = "converged"
            break

    if best_state is not None:
        model.load_state_dict(best_state)
    finished = Finished(reason, best_acc, best_epoch, len(history), time.perf_counter() - t_run,
                        images_seen / max(train_seconds, 1e-9))
    emit(finished)
    return FitResult(model, history, finished, best_state)
