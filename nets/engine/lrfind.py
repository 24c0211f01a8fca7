"""The learning-rate range test (fastai's lr_find) on the engine's own steps, the model and random state restored bit-exactly.

`range_test` raises the rate exponentially from `start` to `end`, one optimiser step of `_Run.step`
(the one engine: same inputs, augmentation, loss, mixed precision and clipping as training) per rate,
on random batches drawn with the run's generator. It smooths the loss with a debiased moving average
(fastai's: avg = b·avg + (1-b)·loss, smooth = avg / (1 - b^(i+1))) with b = beta^(100/steps): `beta` is
fastai's for its 100 steps, and a shorter test averages over the same span of rates (fastai's beta over 30
steps would still hold the first losses when the loss turns up). It stops when the smoothed loss exceeds
`diverge` times its best so far or a loss is not finite (that point is kept: the curve shows where it
blew up), or when `stop` is set. It costs less than one epoch: the steps are capped at one fewer than an
epoch's batches (`steps_for`; never below MIN_STEPS, so a tiny training set still gets a curve).
Afterwards the model's state_dict (batch-norm buffers included), its gradients, train/eval mode and
device, and the torch (CPU and CUDA), Python and NumPy random states are what they were before; the
optimiser is the test's own, thrown away. Suggestions from the curve: nets.coach.lr_suggest.
"""
from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch import nn

from nets.engine.config import ConfigError, TrainConfig, validate
from nets.engine.data import ImageData
from nets.engine.device import pick_device
from nets.engine.events import LRPoint
from nets.engine.train import _Run, _stop_requested

MIN_STEPS = 30          # fewer points than this make no readable curve, whatever an epoch holds
STOPPED = ("end", "diverged", "stop")


@dataclass
class LRCurve:
    """What a range test measured, one entry per step taken; `stopped` says why it ended."""
    lrs: list[float]
    losses: list[float]       # raw; the last may be NaN or inf when stopped == "diverged"
    smooth: list[float]
    stopped: str              # "end" (all steps), "diverged" or "stop" (asked to)
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LRCurve":
        """From to_dict's output; a missing number (None, as strict JSON writes NaN) reads as NaN."""
        def floats(xs):
            return [float("nan") if x is None else float(x) for x in xs]
        return cls(floats(d["lrs"]), floats(d["losses"]), floats(d["smooth"]), str(d["stopped"]),
                   float(d.get("seconds", 0.0)))


def steps_for(train_size: int, batch_size: int, steps: int = 100) -> int:
    """How many steps a test of at most `steps` takes on this training set: fewer than one epoch's
    batches, but at least MIN_STEPS (or `steps`, if smaller)."""
    batches = math.ceil(train_size / max(1, min(batch_size, train_size)))
    return min(steps, max(batches - 1, MIN_STEPS))


def rate(i: int, start: float, end: float, steps: int) -> float:
    """The learning rate of step i: start·(end/start)^(i/(steps-1))."""
    return start * (end / start) ** (i / (steps - 1)) if steps > 1 else start


class _Saved:
    """Everything a range test changes, copied before it; `restore` puts it back exactly."""

    def __init__(self, model: nn.Module, cuda: bool):
        self.state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        self.grads = [None if p.grad is None else p.grad.detach().clone() for p in model.parameters()]
        self.training = model.training
        first = next(model.parameters(), None)
        self.device = first.device if first is not None else None
        self.torch_rng = torch.get_rng_state()
        # CUDA's generators only where the test may use them (no CUDA context for a CPU test)
        use_cuda = cuda or (torch.cuda.is_available() and torch.cuda.is_initialized())
        self.cuda_rng = torch.cuda.get_rng_state_all() if use_cuda else None
        self.python_rng = random.getstate()
        self.numpy_rng = np.random.get_state()
        self.cudnn_benchmark = torch.backends.cudnn.benchmark

    def restore(self, model: nn.Module) -> None:
        if self.device is not None:
            model.to(self.device)
        model.load_state_dict(self.state)
        for p, g in zip(model.parameters(), self.grads):
            p.grad = g
        model.train(self.training)
        torch.set_rng_state(self.torch_rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)
        random.setstate(self.python_rng)
        np.random.set_state(self.numpy_rng)
        torch.backends.cudnn.benchmark = self.cudnn_benchmark


def _check(start: float, end: float, steps: int, beta: float, diverge: float) -> None:
    if not (0 < start < end and math.isfinite(end)):
        raise ConfigError(f"The range test needs 0 < start < end; got {start:g} and {end:g}.")
    if steps < 2:
        raise ConfigError("The range test needs at least 2 steps.")
    if not 0 <= beta < 1:
        raise ConfigError(f"The smoothing factor must be in [0, 1); got {beta:g}.")
    if not diverge > 1:
        raise ConfigError(f"The divergence factor must be above 1; got {diverge:g}.")


def range_test(model: nn.Module, data: ImageData, cfg: TrainConfig, start: float = 1e-7, end: float = 10.0,
               steps: int = 100, beta: float = 0.98, diverge: float = 4.0, on_event=None, stop=None) -> LRCurve:
    """Train `model` for up to `steps` steps (fewer than an epoch: steps_for) at rates rising from
    `start` to `end`, an LRPoint to `on_event` per step; the model and random states restored after,
    whatever ended it (an exception included). `stop`: a threading.Event or a callable, checked
    before every step."""
    _check(start, end, steps, beta, diverge)
    emit = on_event or (lambda event: None)
    cfg = replace(cfg, stats_every=0, lr=start, lookahead=0)  # Lookahead's slow weights would pull the sweep back
    validate(cfg)
    saved = _Saved(model, pick_device(cfg.device).type == "cuda")
    t0 = time.perf_counter()
    lrs, losses, smooth = [], [], []
    stopped = "end"
    try:
        run = _Run(model, data, cfg, lambda event: None)
        n_steps = steps_for(run.n, run.bs, steps)
        b = beta ** (100 / n_steps)
        model.train()
        perm, pos, avg, best = None, 0, 0.0, math.inf
        for i in range(n_steps):
            if _stop_requested(stop):
                stopped = "stop"
                break
            lr = rate(i, start, end, n_steps)
            for group in run.opt.param_groups:  # a model's own per-group scale (airbench's) kept under the sweep
                group["lr"] = lr * group.get("lr_scale", 1.0)
            if perm is None or pos + run.bs > run.n:
                perm, pos = torch.randperm(run.n, device=run.device, generator=run.gen), 0
            loss = float(run.step(perm[pos:pos + run.bs])[0].detach())  # one host sync per step: 100 at most
            pos += run.bs
            avg = b * avg + (1 - b) * loss
            value = avg / (1 - b ** (i + 1))
            lrs.append(lr)
            losses.append(loss)
            smooth.append(value)
            emit(LRPoint(i, lr, loss, value))
            if not (math.isfinite(loss) and math.isfinite(value)):
                stopped = "diverged"
                break
            best = min(best, value)
            if value > diverge * best:
                stopped = "diverged"
                break
    finally:
        saved.restore(model)
    return LRCurve(lrs, losses, smooth, stopped, time.perf_counter() - t0)
