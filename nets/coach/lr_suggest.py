"""Learning rates read off a range test's curve: fastai's four rules (valley, slide, minimum, steep), where they agree, the rate to use (the middle one) and the words.

All rules read the smoothed loss (the raw one is too noisy) on a trimmed window, as fastai's lr_find
does: the first tenth of the points is skipped (an early spike, Lightning #1767, cannot fool them),
so are the last five (the climb into divergence), and everything from the first non-finite loss on
(fastai #3476/#3477), and everything from where the loss, past its lowest point, has climbed back half
of its fall (CLIMB): the divergence fastai's 4x rule misses when a collapsed network's loss only
returns to chance level, whose tail fooled steep into 1.0 for LeNet/SGD in the benchmark. fastai's
counts (5 points, slide's 15) are for its 100 steps from 1e-7 to 10; a test with coarser steps
(nets.engine.lrfind caps them below an epoch) scales them to the same span of rates (`_per_step`),
and slide's threshold, a change of gradient per point, with them. When the
smoothed loss never fell by at least FELL (1%) inside the window, every rule says None: there is no
rate to read off a flat or rising curve (ktrain PR #174's objection).
- valley: the longest run of decreasing loss (the longest decreasing subsequence, fastai PR #3377);
  the rate half way along it (fastai's code: a third plus a sixth; its docs say "roughly 2/3").
- slide: from the right, slide a window of 15 points left until the loss's gradient at both ends
  differs by at most 0.005 (it has flattened); the rate at the left end just before that.
- minimum: a tenth of the rate at the lowest loss.
- steep: the rate where the loss falls fastest against log(rate).
- middle (`best`, the rate "Use" offers): the middle one of valley's, minimum's and steep's rates.
In tests/bench_lrfind.py (a 1-epoch sweep of each configuration, 2 seeds per rate) the middle rule was
within half a decade of the best swept rate in 7 of the 10 configurations it was chosen on (minimum 6;
steep 8, but on the edge of a collapse: 17.0 accuracy points lost on average) and in 8 of 10 held-out ones
(minimum 7, steep 5), losing 2.6 points there on average (minimum 3.5, steep 9.7): one rule that sits too
high or too low does not move it.
"""
from __future__ import annotations

import math

import numpy as np

RULES = ("valley", "slide", "minimum", "steep")   # fastai's four, drawn on the chart
BEST_RULE = "middle"     # the rate offered: the middle of MIDDLE_OF (tests/bench_lrfind.py chose it)
MIDDLE_OF = ("valley", "minimum", "steep")
FELL = 0.01              # the smoothed loss must fall by this share of its start for any suggestion
MIN_POINTS = 5           # fewer usable points give no suggestion
CLIMB = 0.5              # the window ends where the loss climbed back this share of its fall


def window(curve, cut: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The (lrs, smoothed losses) the rules read: first tenth and last five skipped, nothing from the
    first non-finite raw or smoothed loss on, nor (`cut`) from where the loss climbed back CLIMB of its fall."""
    lrs = np.asarray(curve.lrs, dtype=float)
    raw = np.asarray(curve.losses, dtype=float)
    sm = np.asarray(curve.smooth, dtype=float)
    n = min(len(lrs), len(raw), len(sm))
    lrs, raw, sm = lrs[:n], raw[:n], sm[:n]
    bad = np.flatnonzero(~(np.isfinite(raw) & np.isfinite(sm)))
    if len(bad):
        n = int(bad[0])
    lo, hi = n // 10, n - max(1, round(5 / _per_step(lrs)))
    if hi - lo < MIN_POINTS:
        return lrs[:0], sm[:0]
    lrs, sm = lrs[lo:hi], sm[lo:hi]
    if not cut:
        return lrs, sm
    low = int(np.argmin(sm))  # cut where the loss has climbed back half its fall: diverged in all but name
    back = np.flatnonzero(sm[low:] > sm[low] + CLIMB * (sm[0] - sm[low]))
    if len(back) and sm[low] < sm[0]:
        lrs, sm = lrs[:low + int(back[0])], sm[:low + int(back[0])]
    return lrs, sm


def _per_step(lrs) -> float:
    """How many of fastai's steps (1/99 of 8 decades) one step of this curve spans: 1 for fastai's test,
    3.4 for 30 steps over the same range."""
    if len(lrs) < 2 or not lrs[1] > lrs[0] > 0:
        return 1.0
    return 99 / 8 * math.log10(lrs[1] / lrs[0])


def _valley(lrs, losses) -> float:
    n = len(losses)
    run = [1] * n            # run[i]: the longest decreasing subsequence ending at i
    end = start = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and run[i] < run[j] + 1:
                run[i] = run[j] + 1
        if run[i] > run[end]:
            end, start = i, i - run[i]
    third = (end - start) / 3
    return float(lrs[min(n - 1, start + int(third) + int(third / 2))])


def _slide(lrs, losses, span: int = 15, thresh: float = 0.005) -> float:
    grad = np.gradient(losses)
    per = _per_step(lrs)
    span, thresh = min(max(2, round(span / per)), len(losses) - 1), thresh * per
    right, left = len(losses) - 1, len(losses) - 1 - span
    lr = lrs[left]
    while left >= 0 and abs(grad[right] - grad[left]) > thresh:
        lr = lrs[left]
        right, left = right - 1, left - 1
    return float(lr)


def _minimum(lrs, losses) -> float:
    return float(lrs[int(np.argmin(losses))] / 10)


def _steep(lrs, losses) -> float | None:
    grads = np.diff(losses) / np.diff(np.log(lrs))
    i = int(np.argmin(grads))
    return float(lrs[i]) if grads[i] < 0 else None


def fell(curve) -> bool:
    """Whether the smoothed loss fell by at least FELL of its start inside the rules' window."""
    _, sm = window(curve)
    return len(sm) >= MIN_POINTS and sm.min() < sm[0] - FELL * abs(sm[0])


def suggest(curve) -> dict[str, float | None]:
    """Each rule's rate (None: no rate, the loss never fell or too few points)."""
    lrs, sm = window(curve)
    if not fell(curve):
        return {rule: None for rule in RULES}
    return {"valley": _valley(lrs, sm), "slide": _slide(lrs, sm), "minimum": _minimum(lrs, sm),
            "steep": _steep(lrs, sm)}


def agreement(s: dict) -> tuple[float, float] | None:
    """The span (lowest, highest) of the rules' rates; None when no rule gave one."""
    rates = [v for v in s.values() if v is not None]
    return (min(rates), max(rates)) if rates else None


def middle(s: dict) -> float | None:
    """The middle one of the MIDDLE_OF rules' rates (of two, the lower); None when none gave one."""
    rates = sorted(s[r] for r in MIDDLE_OF if s.get(r) is not None)
    return rates[(len(rates) - 1) // 2] if rates else None


def best(s: dict) -> float | None:
    """The rate the panel offers: the middle rule's (BEST_RULE), the benchmark's best."""
    return middle(s)


def middle_from(s: dict) -> str | None:
    """Which rule's rate the middle rule took (the first in RULES' order with that rate)."""
    pick = middle(s)
    return next((r for r in MIDDLE_OF if s.get(r) == pick), None) if pick is not None else None


def fmt_lr(x: float) -> str:
    """A rate to one significant figure, as a person writes it: 3e-4, 0.003 → 3e-3, 0.03, 0.3, 2, 10.
    float() reads it back."""
    if not (x > 0 and math.isfinite(x)):
        return str(x)
    v = float(f"{x:.0e}")
    if v >= 1:
        return f"{v:g}" if v < 1e4 else f"{v:.0e}".replace("e+0", "e").replace("e+", "e")
    if v >= 0.01:
        return f"{v:g}"
    mantissa, exponent = f"{v:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _turn(curve, lrs, sm) -> tuple[float, float | None]:
    """Where the smoothed loss starts to fall (first rate 1% below its start) and where it turns up
    (the rate of its lowest point, None when it still falls at the window's end)."""
    start = lrs[0]
    below = np.flatnonzero(sm < sm[0] - FELL * abs(sm[0]))
    if len(below):
        start = lrs[max(0, below[0] - 1)]
    low = int(np.argmin(sm))
    uncut = len(window(curve, cut=False)[1]) == len(sm)  # not cut where the loss climbed back
    ended = curve.stopped == "end" and uncut and low >= len(sm) - 2
    return float(start), None if ended else float(lrs[low])


def words(curve, s: dict) -> str:
    """One or two plain sentences on what the curve shows and which rate to take."""
    if not curve.lrs:
        return "No rate: the test took no step."
    span = f"between {fmt_lr(curve.lrs[0])} and {fmt_lr(curve.lrs[-1])}"
    cut = " The test was stopped early; run it to the end for a full curve." if curve.stopped == "stop" else ""
    if not fell(curve):
        if len(window(curve, cut=False)[0]) < MIN_POINTS:
            return f"No rate: too few steps before the loss blew up or the test ended ({len(curve.lrs)}).{cut}"
        return (f"No rate: the loss never fell {span}. Check the data, the model and the loss, or "
                f"widen the range.{cut}")
    lrs, sm = window(curve)
    falls, turns = _turn(curve, lrs, sm)
    shape = (f"The loss falls from {fmt_lr(falls)} and turns up at {fmt_lr(turns)}" if turns is not None
             else f"The loss falls from {fmt_lr(falls)} and still falls at {fmt_lr(float(lrs[-1]))}")
    lo, hi = agreement(s)
    named = [r for r in RULES if s.get(r) is not None]
    pick = best(s)
    if hi / lo <= math.sqrt(10):
        centre = math.sqrt(lo * hi)
        count = {4: "the four", 3: "three", 2: "two", 1: "the one"}[len(named)]
        verdict = (f"{count} rules agree within half a decade around {fmt_lr(centre)}: a good rate."
                   if len(named) > 1 else f"{count} rule says {fmt_lr(centre)}.")
    else:
        verdict = (f"the rules disagree, from {fmt_lr(lo)} to {fmt_lr(hi)}; "
                   + (f"take {middle_from(s)}'s {fmt_lr(pick)}, the middle of valley, minimum and steep "
                      "(the best choice in our benchmark)." if pick is not None else "try the middle of that span."))
    return f"{shape}; {verdict}{cut}"
