"""The four-configuration group read side by side: each run's advice and one sentence saying what it teaches, per optimizer."""
from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from nets.coach.doctor import CHANCE_MARGIN, LR_RANGE, _opt, chance_level, diagnose, started_classes
from nets.coach.dynamics import Finding, first_findings, fraction
from nets.engine.config import TrainConfig
from nets.engine.naming import LOSS_NAMES, format_lr
from nets.engine.stats import UPDATE_RATIO_GOOD, Dynamics


@dataclass
class GroupReport:
    """The four-configuration group read side by side."""
    advice: dict = field(default_factory=dict)     # each run's key (a job's id, else its label) → [Advice]
    sentence: str = ""                             # the lesson in one sentence ('' until two runs ended)


@dataclass
class _Member:
    key: str
    label: str
    cfg: TrainConfig
    epochs: list
    notes: list
    summary: dict | None
    num_classes: int | None
    dynamics: Dynamics | None = None


def _member(run, num_classes: int | None = None) -> _Member:
    """A (label, cfg, epochs, notes, summary[, dynamics]) tuple, or anything shaped like
    nets.training_work.JobView (its `dynamics` read when it has them)."""
    if isinstance(run, tuple):
        label, cfg, epochs, notes, summary, *rest = run
        return _Member(label, label, cfg, list(epochs or []), list(notes or []), summary, num_classes,
                       rest[0] if rest else None)
    return _Member(getattr(run, "id", None) or run.label, run.label, run.config, list(run.epochs or []),
                   list(run.notes or []), run.summary, started_classes(run) or num_classes,
                   getattr(run, "dynamics", None))


def _pct(x: float | None) -> str:
    return "no model" if x is None else f"{x:.1%}"


def _size(x: float) -> str:
    """An update ratio in words: '24%' for 0.24, '3e-06' for 3e-6."""
    return f"{x:.0%}" if x >= 0.01 else f"{x:.0e}"


def _median_ratio(d: Dynamics, row: int) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = d.update_ratio[row]
        return float(np.nanmedian(np.where(r > 0, r, np.nan)))


def _at_start(f: Finding, d: Dynamics, values: np.ndarray) -> float:
    """A site's share at the step the finding began (its value is the latest record's)."""
    return float(values[int(np.searchsorted(d.step, f.step)), d.sites.index(f.layer)])


def _clause(f: Finding, d: Dynamics) -> str:
    if f.kind == "dead-relu":
        return f"by step {f.step}, {_at_start(f, d, d.dead):.0%} of the units of {f.layer} never fired"
    if f.kind == "vanishing":
        return (f"from step {f.step} no gradient reached {f.layer}" if f.value == 0 else
                f"from step {f.step} {f.layer}'s gradient was {fraction(f.value)} of {d.layers[-1]}'s")
    if f.kind == "saturated":
        return f"by step {f.step}, {_at_start(f, d, d.saturated):.0%} of the units of {f.layer} sat at their limits"
    if f.kind == "exploding":
        return f"from step {f.step} a step changed {f.layer}'s weights by {_size(f.value)} of their size"
    return (f"a step moved the median layer's weights by {_size(f.value)} of their size, far "
            f"{'below' if f.value < UPDATE_RATIO_GOOD else 'above'} {UPDATE_RATIO_GOOD:g}")


def _gradient_share(d: Dynamics, ce: Dynamics | None) -> str:
    """', its gradients 1/51 of cross-entropy's' at the first record, when the cross-entropy run with the
    same optimizer recorded the same layers ('' otherwise)."""
    if ce is None or not len(ce) or ce.layers != d.layers:
        return ""
    with np.errstate(divide="ignore", invalid="ignore"):
        share = float(np.median(d.grad_norm[0] / ce.grad_norm[0]))
    return f" (at step {int(d.step[0])} its gradients were {fraction(share)} of cross-entropy's)" if 0 < share < 0.5 else ""


def why_failed(cfg: TrainConfig, d: Dynamics | None, ce: Dynamics | None = None) -> str:
    """Why a run learned little, per optimizer. With layer statistics, what they measured (`ce`: the
    statistics of the cross-entropy run with the same optimizer, to compare gradients with); without,
    only what follows from the optimizer's rule (no cause claimed for Adam)."""
    sgd, mse = cfg.optimizer == "sgd", cfg.loss == "mse"
    small = "squared error through softmax gives small gradients"
    if d is None or len(d) == 0:
        if sgd:
            return (f"a step of SGD is the learning rate ({format_lr(cfg.lr)}) × the gradient"
                    + (f", and {small}" if mse else "")
                    + (", a small rate" if cfg.lr < LR_RANGE["sgd"][0] and not mse else ""))
        if mse:
            return (f"{small}, but {_opt(cfg)} divides each step by the gradient's recent size, so small "
                    "gradients alone do not stop it (train with layer statistics to see what did)")
        return ""
    found = first_findings(d)
    said = [_clause(f, d) for f in found if f.kind != "update-ratio" and not (f.kind == "vanishing" and any(
        g.kind == "dead-relu" for g in found) and f.value > 0)]
    share = _gradient_share(d, ce) if mse else ""
    if sgd:
        end = _median_ratio(d, -1)
        head = (f"a step of SGD is the learning rate ({format_lr(cfg.lr)}) × the gradient"
                + (f", and {small}{share}" if mse else "")
                + f": a step moved the median layer's weights by {_size(end)} of their size"
                + (f", far below {UPDATE_RATIO_GOOD:g}" if end < UPDATE_RATIO_GOOD / 10 else ""))
        return head + "".join(f"; {c}" for c in said)
    head = (f"{_opt(cfg)} divides each step by the gradient's recent size, so its first step moved the median "
            f"layer's weights by {_size(_median_ratio(d, 0))} of their size"
            + (f" whatever the loss{share}" if mse else ""))
    sure = float(np.nanmax(d.out_confident)) if len(d.out_confident) else 0.0
    tail = (f"while the softmax stayed unsure (mean top probability {float(d.out_max_p[-1]):.2f})" if sure < 0.01
            else f"and the softmax was at least 99% sure of {sure:.0%} of the images")
    return head + ("; " + " and ".join(said) if said else "") + ", " + tail


def diagnose_group(runs: Iterable, num_classes: int | None = None) -> GroupReport:
    """Per-run advice and one comparison for a group of runs (the coursework's four: SGD/Adam ×
    cross-entropy/squared error). Each run is a (label, cfg, epochs, notes, summary[, dynamics])
    tuple or a JobView; only runs with a summary (ended and saved) are compared. A JobView's classes
    are its Started event's; `num_classes` is for the tuples (None: each dataset's own count)."""
    members = [_member(r, num_classes) for r in runs]
    report = GroupReport()
    for m in members:
        kept = (m.summary.get("best_epoch") is not None) if m.summary else None
        report.advice[m.key] = diagnose(m.cfg, m.epochs, m.notes, m.num_classes, kept=kept, dynamics=m.dynamics)

    pairs = [(m.cfg.optimizer, m.cfg.loss) for m in members]
    unique = len(set(pairs)) == len(pairs)

    def name(m: _Member) -> str:
        return f"{_opt(m.cfg)} + {LOSS_NAMES.get(m.cfg.loss, m.cfg.loss)}" if unique else m.label

    ended = [m for m in members if m.summary]
    accs = {m.key: m.summary.get("best_test_acc") for m in ended}
    ended.sort(key=lambda m: -1.0 if accs[m.key] is None else accs[m.key], reverse=True)
    if len(ended) < 2:
        return report
    best, worst = ended[0], ended[-1]
    if accs[best.key] is None:
        report.sentence = "None of the runs kept a model: each diverged or stopped before an epoch finished."
        return report
    if accs[best.key] == accs[worst.key]:
        report.sentence = f"All {len(ended)} runs reached the same test accuracy, {_pct(accs[best.key])}."
        return report

    def at_chance(m: _Member) -> bool:
        chance = chance_level(m.cfg, m.num_classes)
        return accs[m.key] is not None and chance is not None and accs[m.key] < chance + CHANCE_MARGIN

    def diverged(m: _Member):
        return next((x for x in m.notes if x.get("kind") == "Diverged"), None)

    def ce_of(m: _Member) -> Dynamics | None:
        return next((o.dynamics for o in members if o.cfg.optimizer == m.cfg.optimizer and o.cfg.loss == "ce"), None)

    n = len(best.epochs)
    parts = [f"{name(best)} learned best: {_pct(accs[best.key])} test accuracy"
             + (f" after {n} epoch{'s' if n != 1 else ''}" if n else "")]
    if (d := diverged(worst)):
        parts.append(f"{name(worst)} diverged in epoch {d['epoch']} ({_pct(accs[worst.key])}): its learning "
                     f"rate {format_lr(worst.cfg.lr)} was too high")
    else:
        chance = chance_level(worst.cfg, worst.num_classes)
        why = why_failed(worst.cfg, worst.dynamics, ce_of(worst))
        parts.append(f"{name(worst)} learned least ({_pct(accs[worst.key])}"
                     + (f", no better than chance at {chance:.0%}" if at_chance(worst) else "") + ")"
                     + (f": {why}" if why else ""))
        # the other optimizer's run at chance too: its own reason (a step is not the same thing for both)
        for m in ended[1:-1]:
            if at_chance(m) and not diverged(m) and m.cfg.optimizer != worst.cfg.optimizer:
                why = why_failed(m.cfg, m.dynamics, ce_of(m))
                parts.append(f"{name(m)} also stayed at chance ({_pct(accs[m.key])})" + (f": {why}" if why else ""))
                break
    report.sentence = "; ".join(parts) + "."
    return report
