"""The optimiser, the Lookahead wrapper and the learning-rate schedule a TrainConfig names."""
from __future__ import annotations

import torch

from nets.engine.config import ConfigError, TrainConfig

PER_STEP = ("triangle",)  # schedules that move after every batch; the others after every epoch
TRIANGLE = (0.2, 0.23, 0.07)  # airbench94's: from 0.2 × lr up to lr at 23% of the steps, down to 0.07 × lr


def _groups(params, cfg: TrainConfig) -> list[dict]:
    """SGD's parameter groups: a parameter with an `lr_scale` attribute (set by a model, e.g. airbench's
    batch-norm shifts, 64) learns that many times faster with its weight decay divided by as much, so
    that lr × weight decay, the fraction decayed per step, stays the same; the rest form one group."""
    by_scale: dict[float, list] = {}
    for p in params:
        by_scale.setdefault(float(getattr(p, "lr_scale", 1.0)), []).append(p)
    return [{"params": ps, "lr": cfg.lr * s, "weight_decay": cfg.weight_decay / s, "lr_scale": s}
            for s, ps in by_scale.items()]  # lr_scale kept in the group for whoever sets its lr (the finder)


def make_optimizer(cfg: TrainConfig, params) -> torch.optim.Optimizer:
    """The optimiser. For SGD a model's `lr_scale` attributes give parameter groups (_groups); the
    adaptive optimisers divide by the gradient's size anyway and ignore them."""
    params = [p for p in params if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(_groups(params, cfg), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                               weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    raise ConfigError(f"Unknown optimizer '{cfg.optimizer}'.")


def triangle(step: int, steps: int, shape: tuple[float, float, float] = TRIANGLE) -> float:
    """The learning-rate factor at `step` of `steps`: linear from `start` up to 1 at `peak` × steps, then
    linear down to `end` at the last step."""
    start, peak, end = shape
    top = max(1, round(peak * steps))
    if step <= top:
        return start + (1 - start) * step / top
    return 1 + (end - 1) * min(1.0, (step - top) / max(1, steps - top))


def make_schedule(cfg: TrainConfig, opt, batches: int = 1):
    """The schedule; `batches` (per epoch) sizes a per-step one (PER_STEP), whose step() fit calls after every batch."""
    if cfg.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.step_size, gamma=cfg.gamma)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    if cfg.schedule == "triangle":
        steps = max(1, cfg.epochs * batches)
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda i: triangle(i, steps))
    return None


def make_lookahead(cfg: TrainConfig, opt, steps: int, buffers=()) -> "Lookahead | None":
    """The configuration's Lookahead around `opt` for a run of `steps` steps, or None when it is off."""
    if not cfg.lookahead:
        return None
    return Lookahead(opt, cfg.lookahead, cfg.lookahead_alpha, steps, cfg.lookahead_ramp, buffers)


class Lookahead:
    """Lookahead (Zhang, Lucas, Hinton and Ba, 2019) around an optimiser: the wrapped optimiser moves the
    fast weights; every `k` of its steps the slow weights move `alpha` of the way towards them,
    slow += alpha · (fast − slow), and the fast weights restart from the slow ones. With `ramp`, alpha
    falls from 1 (no averaging) to `alpha` as (step / total_steps)³: airbench's warm-up of its weight
    average. `buffers` (a model's float buffers: batch-norm running statistics) are averaged alike, as
    airbench does. It has the optimiser's interface (param_groups, zero_grad, step, state_dict), so the
    gradient scaler and the layer probe use it as they use the optimiser; schedules take the inner one."""

    def __init__(self, optimizer: torch.optim.Optimizer, k: int, alpha: float, total_steps: int = 0,
                 ramp: bool = False, buffers=()):
        if k < 1 or not 0 < alpha <= 1:
            raise ValueError(f"Lookahead needs k ≥ 1 and alpha in (0, 1], got k={k}, alpha={alpha}")
        self.optimizer, self.k, self.alpha, self.total, self.ramp = optimizer, k, alpha, total_steps, ramp
        self.fast = [p for g in optimizer.param_groups for p in g["params"]]
        self.fast += [b for b in buffers if b.is_floating_point()]
        self.slow = [t.detach().clone() for t in self.fast]
        self.steps = 0

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    @property
    def state(self):
        return self.optimizer.state

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def alpha_at(self, step: int) -> float:
        """Alpha at the `step`-th step: constant, or ramped down from 1."""
        if not self.ramp or self.total <= 0:
            return self.alpha
        return 1 - (1 - self.alpha) * min(1.0, step / self.total) ** 3

    def step(self, closure=None):
        loss = self.optimizer.step() if closure is None else self.optimizer.step(closure)
        self.steps += 1
        if self.steps % self.k == 0:
            self.sync(self.alpha_at(self.steps))
        return loss

    @torch.no_grad()
    def sync(self, alpha: float) -> None:
        """slow += alpha · (fast − slow); fast = slow."""
        for slow, fast in zip(self.slow, self.fast):
            slow.lerp_(fast.detach().to(slow.dtype), alpha)
            fast.copy_(slow)

    @torch.no_grad()
    def to_slow(self) -> None:
        """Put the slow weights in the model (fit does at each epoch's end, before evaluating, as airbench)."""
        for slow, fast in zip(self.slow, self.fast):
            fast.copy_(slow)

    def state_dict(self) -> dict:
        return {"optimizer": self.optimizer.state_dict(), "slow": [t.clone() for t in self.slow], "steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        for slow, saved in zip(self.slow, state["slow"]):
            slow.copy_(saved)
        self.steps = state["steps"]
