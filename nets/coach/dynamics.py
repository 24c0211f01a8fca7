"""What the layer statistics say, layer and step named: vanishing gradients, exploding updates, dead ReLUs, saturated units, update ratios far from 1e-3."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from nets.engine.stats import Dynamics

# Thresholds, each checked on recorded runs (tests/test_doctor_dynamics.py, tests/data/dynamics): the
# 10-layer sigmoid MLP's first/last gradient ratio is ~2e-8 from step 1, ReLU at lr 1 has 77% dead
# units by step 15, and over a full run the default LeNet and cnn5 stay clear of every line: their
# smallest gradient ratio is 0.09, largest growth 29x, most dead 16%, and their median update ratio
# peaks at 10^-1.76 (LeNet, early, learning to 96.5%), so "far above" starts at 5%.
VANISHING = 1e-3      # first layer's gradient norm over the last layer's
EXPLODING_RATIO = 1e-1  # one update moving a layer's weights by a tenth of their size
EXPLODING_GROWTH = 1e3  # a layer's gradient norm grown this many times since the first record
DEAD = 0.5            # share of a ReLU site's units that never fired over the window
SATURATED = 0.5       # share of a sigmoid/tanh site's units near their limits
RATIO_LOW, RATIO_HIGH = 1e-5, 5e-2  # the median layer's update ratio, far below or above 1e-3
HOLD = 3              # a finding must hold in each of the latest HOLD records
# Worst first; dead ReLUs before vanishing gradients, which they cause in a ReLU network (no gradient
# passes a unit that never fires).
ORDER = ("exploding", "dead-relu", "vanishing", "saturated", "update-ratio")


@dataclass
class Finding:
    kind: str         # vanishing, exploding, dead-relu, saturated, update-ratio
    layer: str        # the layer or activation site it names
    step: int         # the first step it held
    value: float      # the measured number (a ratio, a share)
    text: str         # one sentence, as a lecturer would say it


def _since(d: Dynamics, held: np.ndarray) -> int:
    """The step from which `held` (one bool per record) has been true up to the latest record."""
    false = np.flatnonzero(~held)
    return int(d.step[false[-1] + 1 if len(false) else 0])


def _held(held: np.ndarray) -> bool:
    return bool(np.all(held[-HOLD:]))


def fraction(x: float) -> str:
    """1/40,000 for 2.5e-5; '1/∞' for 0."""
    return f"1/{1 / x:,.0f}" if x > 0 else "1/∞"


def _vanishing(d: Dynamics) -> list[Finding]:
    if len(d.layers) < 2:
        return []
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = d.grad_norm[:, 0] / d.grad_norm[:, -1]
    held = ratio < VANISHING
    if not _held(held):
        return []
    step, value = _since(d, held), float(np.median(ratio[-HOLD:]))
    return [Finding("vanishing", d.layers[0], step, value,
                    f"vanishing gradients: {d.layers[0]}'s gradient is {fraction(value)} of {d.layers[-1]}'s "
                    f"(since step {step})")]


def _exploding(d: Dynamics) -> list[Finding]:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = d.update_ratio
        growth = d.grad_norm / d.grad_norm[:1]
    big = ~(ratio <= EXPLODING_RATIO)           # NaN or inf counts: the weights have blown up
    big &= np.isfinite(d.weight_norm) | np.isnan(ratio)
    grown = ~(growth <= EXPLODING_GROWTH) & (d.grad_norm[:1] > 0)
    out = []
    for j, name in enumerate(d.layers):
        if _held(big[:, j]):
            value = float(ratio[-1, j])
            out.append(Finding("exploding", name, _since(d, big[:, j]), value,
                               f"exploding updates: each step changes {name}'s weights by "
                               + (f"{value:.0%} of their size" if np.isfinite(value) else "more than they hold")
                               + f" (since step {_since(d, big[:, j])})"))
        elif _held(grown[:, j]):
            value = float(growth[-1, j])
            out.append(Finding("exploding", name, _since(d, grown[:, j]), value,
                               f"exploding gradients: {name}'s gradient is "
                               + (f"{value:,.0f} times" if np.isfinite(value) else "infinitely")
                               + f" what it was at step {int(d.step[0])} (since step {_since(d, grown[:, j])})"))
    return _worst(out)


def _sites(d: Dynamics, kinds: tuple[str, ...], values: np.ndarray, line: float, kind: str, words: str) -> list[Finding]:
    out = []
    for j, site in enumerate(d.sites):
        if d.site_kinds[j] not in kinds:
            continue
        held = values[:, j] > line
        if _held(held):
            step, value = _since(d, held), float(values[-1, j])
            out.append(Finding(kind, site, step, value, f"{words}: {value:.0%} of the units of {site} "
                               + ("never fire" if kind == "dead-relu" else "sit at their limits")
                               + f" (since step {step})"))
    return _worst(out)


def _worst(out: list[Finding]) -> list[Finding]:
    """The worst of one kind; the sentence counts the others."""
    if not out:
        return []
    worst = max(out, key=lambda f: f.value if np.isfinite(f.value) else np.inf)
    if len(out) > 1:
        worst.text += f"; {len(out) - 1} more layer{'s' if len(out) > 2 else ''} too"
    return [worst]


def _update_ratio(d: Dynamics) -> list[Finding]:
    ratio = d.update_ratio
    skipped = ~(ratio > 0)                       # a skipped step (float16 overflow) measures nothing
    ratio = np.where(skipped, np.nan, ratio)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a record whose layers were all skipped
        median = np.nanmedian(ratio, axis=1)
    for held, words in ((median < RATIO_LOW, "far below"), (median > RATIO_HIGH, "far above")):
        if _held(held):
            step, value = _since(d, held), float(median[-1])
            j = int(np.nanargmin(ratio[-1]) if words == "far below" else np.nanargmax(ratio[-1]))
            return [Finding("update-ratio", d.layers[j], step, value,
                            f"update ratio {words} 1e-3: a step changes the median layer's weights by "
                            f"{value:.0e} of their size, {d.layers[j]}'s by {float(ratio[-1, j]):.0e} "
                            f"(since step {step})")]
    return []


def findings(d: Dynamics | None) -> list[Finding]:
    """The alarms the latest records raise, worst first (one per kind, naming the worst layer and the
    step it began); [] when there are none or fewer than HOLD records."""
    if d is None or len(d) < HOLD:
        return []
    out = _exploding(d) + _vanishing(d)
    out += _sites(d, ("relu",), d.dead, DEAD, "dead-relu", "dead ReLUs")
    out += _sites(d, ("sigmoid", "tanh"), d.saturated, SATURATED, "saturated", "saturated units")
    if not any(f.kind == "exploding" for f in out):  # a blown-up run's ratios say nothing more
        out += _update_ratio(d)
    return sorted(out, key=lambda f: ORDER.index(f.kind))


def first_findings(d: Dynamics | None) -> list[Finding]:
    """Each kind of alarm that held at some point of the history, as it was first raised (it may have
    cleared since), worst first: what a lesson's reveal looks for. For each kind the rules run only on
    the histories that end where its line was crossed HOLD records running (cheap enough to poll)."""
    if d is None or len(d) < HOLD:
        return []
    light = d.take(np.arange(len(d)), [])      # no histograms: the rules read the scalars only
    seen: dict[str, Finding] = {}
    for kind, ends in _crossed(light).items():
        for end in np.flatnonzero(ends):
            if kind in seen:
                break
            for f in findings(light.take(np.arange(end + 1), [])):
                seen.setdefault(f.kind, f)
    return sorted(seen.values(), key=lambda f: ORDER.index(f.kind))


def _crossed(d: Dynamics) -> dict[str, np.ndarray]:
    """Per kind, (R,) whether its line was crossed in each of the HOLD records up to each record (where
    findings() raises it, for some layer)."""
    def held(b: np.ndarray) -> np.ndarray:
        if not b.size:                          # no activation sites (a linear model)
            return np.zeros(len(d), bool)
        b = b.reshape(len(d), -1)
        run = b.copy()
        for k in range(1, HOLD):
            run[k:] &= b[:-k]
        run[:HOLD - 1] = False
        return run.any(axis=1)

    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ratio = d.update_ratio
        median = np.nanmedian(np.where(ratio > 0, ratio, np.nan), axis=1)
        out = {"exploding": held(~(ratio <= EXPLODING_RATIO)) | held(~(d.grad_norm / d.grad_norm[:1] <= EXPLODING_GROWTH)),
               "vanishing": held(d.grad_norm[:, 0] / d.grad_norm[:, -1] < VANISHING) & (len(d.layers) >= 2),
               "dead-relu": held(d.dead > DEAD), "saturated": held(d.saturated > SATURATED)}
        out["update-ratio"] = held((median < RATIO_LOW) | (median > RATIO_HIGH)) & ~out["exploding"]
    return out


def largest_step(d: Dynamics | None, until: int | None = None) -> float:
    """The largest median update ratio in the records up to step `until` (default: all); 0 without
    records. Above RATIO_HIGH, dead ReLUs come from the steps (Adam's first step at lr 0.01 moves the
    cnn5's weights by a fifth of their size), not from the starting weights."""
    if d is None or not len(d):
        return 0.0
    rows = d.step <= (until if until is not None else d.step[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmax(np.nanmedian(d.update_ratio[rows], axis=1), initial=0))
