"""The one PyTorch training engine for image classifiers: `fit` and the events it reports.

`fit` trains a model on an `ImageData` according to a `TrainConfig` and reports through plain event
objects passed to `on_event`; `nets.experiment.run_training` adds loading the data, building the model
and saving the run. Everything that trains an image classifier (the command line, the pages, the job
service, the benchmark) goes through `fit`. Two lessons keep small loops of their own on purpose: the
Playground (nets/playground/train.py) trains its tiny two-input networks full-batch, a few steps
between redraws, and the NumPy lab (nets/scratch/) has its hand-written backward pass, which is the
lesson, beside a minimal PyTorch twin to compare it with.

Why it is fast: the dataset sits on the training device as uint8 tensors, a batch is an index
slice of a random permutation, augmentation runs batched on the device, and the host waits for the
device only every `log_every` batches or `log_seconds` seconds, whichever comes first (running sums
stay on the device): a live chart gets points every quarter second without a sync per batch. On CUDA it adds mixed
precision and channels-last; the gradient scaler is always called, and disabled it does nothing. The speed
runs' tricks are switches: flip_alt gets the epoch and image indices, a per-step schedule steps every batch,
Lookahead wraps the optimiser (slow weights evaluated), tta is for the test set after the last epoch.
"""
from __future__ import annotations

import math
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import nn

from nets.engine.augment import augment
from nets.engine.config import ConfigError, TrainConfig, validate
from nets.engine.data import ImageData, stats_tensors, to_input
from nets.engine.device import amp_dtype, pick_device
from nets.engine.events import (BatchProgress, Converged, Diverged, EarlyStopped, EpochEnd, Finished, NewBest, Started,
                                Stopped)
from nets.engine.evaluate import evaluate
from nets.engine.losses import compute_loss
from nets.engine.models import count_params, has_batchnorm, is_convolutional
from nets.engine.optim import PER_STEP, make_lookahead, make_optimizer, make_schedule
from nets.engine.probe import LayerProbe, effective_every
from nets.engine.tally import Tally
from nets.status import Status


@dataclass
class FitResult:
    model: nn.Module          # with the best weights loaded (when there was a best)
    history: list[EpochEnd]
    finished: Finished
    best_state: dict | None


# ------------------------------------------------------------------------------------- pieces
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


# ------------------------------------------------------------------------------------- the loop
class _Run:
    """What one call of `fit` prepares once and carries from epoch to epoch: the training set on the
    device, the optimiser, schedule and gradient scaler, the images and seconds so far, the best weights."""

    def __init__(self, model: nn.Module, data: ImageData, cfg: TrainConfig, emit):
        self.model, self.data, self.cfg, self.emit = model, data, cfg, emit
        self.device = device = pick_device(cfg.device)
        if cfg.batch_size == 1 and has_batchnorm(model):
            raise ConfigError("Batch norm needs at least 2 images per batch; raise the batch size or "
                              "turn batch norm off.")
        self.channels_last = is_convolutional(model) if cfg.channels_last is None else cfg.channels_last
        self.memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        model.to(device=device, memory_format=self.memory_format)
        self.amp = cfg.amp and device.type == "cuda"
        half = amp_dtype() if self.amp else None
        self.autocast = (lambda: torch.autocast("cuda", dtype=half)) if self.amp else nullcontext
        # float16 gradients need scaling; bfloat16 and float32 ones do not, and there the disabled
        # scaler passes them through (scale, unscale_ and update do nothing, step is opt.step())
        self.scaler = torch.amp.GradScaler("cuda", enabled=half == torch.float16)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True

        self.x, self.y = data.x_train.to(device), data.y_train.to(device)
        self.n = n = len(self.x)
        if n == 0:
            raise ConfigError("The training set is empty.")
        self.mean, self.std = stats_tensors(data.mean, data.std, device)
        # Without augmentation the whole set is normalised once, so a batch is a single index_select.
        self.pre_normalised = not cfg.augment and self.x.numel() * 4 <= 2 ** 31
        if self.pre_normalised:
            self.x = to_input(self.x, self.mean, self.std, data.scale).contiguous(memory_format=self.memory_format)
        self.eval_split = data.eval_split()[0]
        self.gen = torch.Generator(device=device).manual_seed(cfg.seed)
        self.bs = min(cfg.batch_size, n)
        self.batches = math.ceil(n / self.bs)
        if n % self.bs == 1 and has_batchnorm(model):
            self.batches -= 1  # a last batch of one image breaks batch norm: drop it this epoch
        self.opt = make_optimizer(cfg, model.parameters())
        self.sched, self.sched_per_step = make_schedule(cfg, self.opt, self.batches), cfg.schedule in PER_STEP
        self.lookahead = make_lookahead(cfg, self.opt, cfg.epochs * self.batches, model.buffers())  # or None
        self.opt = self.lookahead or self.opt
        self.images_seen, self.train_seconds, self.last_log = 0, 0.0, 0.0
        self.best_state, self.best_acc, self.best_epoch = None, None, None  # dict, float, int once there is one
        self.steps, self.epoch = 0, 1
        self.probe = None
        if cfg.stats_every:
            every = effective_every(cfg.stats_every, cfg.epochs, self.batches)
            self.probe = LayerProbe(model, every, self.inputs(torch.arange(min(2, n), device=device), False))

    def inputs(self, idx: torch.Tensor, augmented: bool = True) -> torch.Tensor:
        """The model's input for the training images at `idx`."""
        if self.pre_normalised:
            return self.x.index_select(0, idx)
        xb = self.x.index_select(0, idx).float().div_(self.data.scale)
        if augmented and self.cfg.augment:
            xb = augment(xb, self.cfg.augment, self.gen, self.epoch, idx)
        return xb.sub_(self.mean).div_(self.std).contiguous(memory_format=self.memory_format)

    def step(self, idx: torch.Tensor, epoch: int = 0, batch: int = 0):
        """One optimiser step on the training images at `idx`; (loss, logits, labels), on the device."""
        cfg, probe = self.cfg, self.probe
        self.steps += 1
        xb, yb = self.inputs(idx), self.y.index_select(0, idx)
        if probe:
            probe.arm(self.steps)
        with self.autocast():
            logits = self.model(xb)
            loss = compute_loss(cfg.loss, logits, yb, smoothing=cfg.label_smoothing)
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.opt)  # clipping sees the true gradients
        if cfg.clip_grad > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip_grad)
        if probe:
            probe.before_step()
        self.scaler.step(self.opt)      # skipped when float16 gradients overflowed
        self.scaler.update()
        if probe:
            probe.after_step(self.steps, epoch, batch, self.images_seen + batch * self.bs,
                             self.opt.param_groups[0]["lr"], logits, yb)
        return loss, logits, yb

    def emit_stats(self) -> None:
        """The probe's records since the last call, as one LayerStats event (at a logging sync)."""
        if self.probe and (stats := self.probe.flush()):
            self.emit(stats)

    def evaluate(self, x: torch.Tensor, y: torch.Tensor, tta: int = 0):
        d = self.data
        return evaluate(self.model, x, y, d.mean, d.std, d.classes, self.cfg.loss, device=self.device,
                        channels_last=self.channels_last, amp=self.amp, scale=d.scale, tta=tta)

    def keep_best(self, epoch: int, acc: float) -> None:
        self.best_state = {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}
        self.best_acc, self.best_epoch = acc, epoch
        self.emit(NewBest(epoch, acc, self.eval_split, self.best_state))


@dataclass
class _Epoch:
    """One pass over the training set: what it trained on, and whether a stop or a non-finite loss cut it short."""
    tally: Tally
    seen: int                       # images trained on
    started: float                  # time.perf_counter() at its start...
    trained: float                  # ...and when its training ended
    stopped_at: int | None = None   # batches done when a stop was asked
    diverged: Diverged | None = None


def _train_epoch(run: _Run, epoch: int, stop) -> _Epoch:
    """Train one epoch, a BatchProgress at each logging interval; a stop request (checked before
    every batch) or the first non-finite loss ends it early."""
    cfg = run.cfg
    run.model.train()
    run.epoch = epoch
    t_epoch = time.perf_counter()
    perm = torch.randperm(run.n, device=run.device, generator=run.gen)
    tally, seen, stopped_at, diverged = Tally(), 0, None, None
    for b in range(run.batches):
        if _stop_requested(stop):
            stopped_at = b
            break
        idx = perm[b * run.bs:(b + 1) * run.bs]
        tally.add(*run.step(idx, epoch, b + 1))
        if run.sched_per_step:
            run.sched.step()
        seen += len(idx)
        now = time.perf_counter()
        if ((b + 1) % cfg.log_every == 0 or b == run.batches - 1
                or (cfg.log_seconds and now - run.last_log >= cfg.log_seconds)):
            run.last_log = now
            bad = tally.flush()  # the one host sync per logging interval
            run.emit_stats()     # before the divergence check: the steps up to a NaN are kept
            if bad is not None:
                diverged = Diverged(epoch, bad + 1, tally.bad_loss)
                break
            elapsed = run.train_seconds + time.perf_counter() - t_epoch
            rate = (run.images_seen + seen) / max(elapsed, 1e-9)
            left = (cfg.epochs - epoch) * run.batches * run.bs + (run.n - seen)
            run.emit(BatchProgress(epoch, b + 1, run.batches, tally.last_loss, run.images_seen + seen, rate,
                                   left / max(rate, 1e-9)))
    run.emit_stats()  # what a stop cut off mid-interval
    if run.lookahead is not None:
        run.lookahead.to_slow()  # evaluated, kept and trained on from the slow weights
    run.images_seen += seen
    run.train_seconds += time.perf_counter() - t_epoch
    return _Epoch(tally, seen, t_epoch, time.perf_counter(), stopped_at, diverged)


def _epoch_end(run: _Run, epoch: int, done: _Epoch) -> EpochEnd:
    """The epoch's numbers: training loss and accuracy over its batches, the test (and validation) split evaluated."""
    test = run.evaluate(run.data.x_test, run.data.y_test, run.cfg.tta if epoch == run.cfg.epochs else 0)
    val = run.evaluate(run.data.x_val, run.data.y_val) if run.eval_split == "val" else None
    return EpochEnd(epoch, done.tally.loss_sum / done.seen, done.tally.correct / done.seen, test.loss,
                    test.accuracy, val.loss if val else None, val.accuracy if val else None,
                    run.opt.param_groups[0]["lr"], time.perf_counter() - done.started,
                    done.seen / (done.trained - done.started))


def _cut_short(run: _Run, epoch: int, done: _Epoch) -> Status | None:
    """How the epoch just trained ends the run before its last epoch (the event emitted), or None."""
    if done.diverged is not None:
        run.emit(done.diverged)
        return Status.DIVERGED
    if done.stopped_at is not None:
        run.emit(Stopped(epoch, done.stopped_at))
        if run.best_state is None and done.seen > 0:  # stopped inside the first epoch: keep what we have
            run.keep_best(epoch, run.evaluate(*run.data.eval_split()[1:]).accuracy)
        return Status.STOPPED
    return None


def _settled(run: _Run, epoch: int, history: list[EpochEnd]) -> Status | None:
    """Early stopping or convergence after an evaluated epoch that is not the last (the event emitted), or None."""
    cfg = run.cfg
    if epoch >= cfg.epochs:
        return None
    if cfg.patience and epoch - run.best_epoch >= cfg.patience:
        run.emit(EarlyStopped(epoch, run.best_epoch, cfg.patience))
        return Status.EARLY_STOPPED
    if cfg.converge_patience and _converged(history, cfg):
        run.emit(Converged(epoch, cfg.converge_patience, cfg.converge_delta))
        return Status.CONVERGED
    return None


def fit(model: nn.Module, data: ImageData, cfg: TrainConfig, on_event=None, stop=None) -> FitResult:
    """Train `model` on `data` as `cfg` says. `stop` is a threading.Event or a callable; it is checked
    before every batch, so a stop takes effect within one batch. The best weights by validation (or
    test) accuracy are loaded into the model at the end, whatever ended the run."""
    validate(cfg)
    run = _Run(model, data, cfg, on_event or (lambda event: None))
    run.emit(Started(str(run.device), count_params(model), run.n, run.batches, cfg.epochs, run.eval_split,
                     data.num_classes))
    if run.probe:
        run.emit(run.probe.plan())
    try:
        return _epochs(run, model, stop)
    finally:
        if run.probe:
            run.probe.remove()  # the returned model is evaluated, explained and exported without hooks


def _epochs(run: _Run, model: nn.Module, stop) -> FitResult:
    cfg = run.cfg
    history: list[EpochEnd] = []
    reason, t_run = Status.COMPLETED, time.perf_counter()
    run.last_log = t_run
    for epoch in range(1, cfg.epochs + 1):
        done = _train_epoch(run, epoch, stop)
        if ended := _cut_short(run, epoch, done):
            reason = ended
            break
        end = _epoch_end(run, epoch, done)
        history.append(end)
        run.emit(end)
        if run.best_acc is None or end.eval_acc() > run.best_acc:
            run.keep_best(epoch, end.eval_acc())
        if run.sched is not None and not run.sched_per_step:
            run.sched.step()
        if ended := _settled(run, epoch, history):
            reason = ended
            break
    if run.best_state is not None:
        model.load_state_dict(run.best_state)
    finished = Finished(reason, run.best_acc, run.best_epoch, len(history), time.perf_counter() - t_run,
                        run.images_seen / max(run.train_seconds, 1e-9))
    run.emit(finished)
    return FitResult(model, history, finished, run.best_state)
