"""Entropy, cross-entropy and KL divergence for small discrete distributions, in lecture notation.

H(p) = −Σ p_i log p_i,  H(p, q) = −Σ p_i log q_i,  KL(p‖q) = Σ p_i log(p_i / q_i),
and H(p, q) = H(p) + KL(p‖q). Conventions: 0·log 0 = 0 (a class p never sees costs nothing);
q_i = 0 where p_i > 0 gives +∞, returned as a value with a note, never an exception or a NaN.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nets.parse import ParseError, float_list, number

UNITS = {"nats": (math.e, r"\ln"), "bits": (2.0, r"\log_2")}
MAX_CLASSES = 10
QUANTITIES = {"H(p)": "h", "H(p, q)": "ce", "KL(p‖q)": "kl"}  # name → Identity's field
CURVES = ("H(p, q)", "KL(p‖q)", "H(p)")  # binary_curves' lines, the loss first


class InfoError(ValueError):
    """Input that is not a distribution; the message is written for the student."""


def parse_values(text: str, what: str = "values") -> list[float]:
    """'0.7, 0.2, 0.1', '7 2 1', '1/3; 1/3; 1/3', '70%, 30%' → numbers (nets.parse.float_list), not yet
    normalised; `what` names the field in messages."""
    try:
        values = float_list(text, what)
    except ParseError as e:
        raise InfoError(str(e)) from None
    if not values:
        raise InfoError(f"{what}: type the values separated by commas, e.g. 0.7, 0.2, 0.1.")
    return list(values)


def normalise(values, what: str = "values") -> tuple[float, ...]:
    """Divide by the sum so the values add to 1; refuses what no rescaling can make a distribution.
    A string is read with parse_values first, so typed and slider input take the same path."""
    v = parse_values(values, what) if isinstance(values, str) else [float(x) for x in values]
    if not 2 <= len(v) <= MAX_CLASSES:
        raise InfoError(f"{what}: a distribution here has 2 to {MAX_CLASSES} classes, not {len(v)}.")
    if any(not math.isfinite(x) for x in v):
        raise InfoError(f"{what}: every value must be a finite number.")
    if any(x < 0 for x in v):
        raise InfoError(f"{what}: probabilities cannot be negative: {', '.join(f'{x:g}' for x in v if x < 0)}.")
    total = sum(v)
    if total == 0:
        raise InfoError(f"{what}: the values are all zero; at least one class needs some probability.")
    return tuple(x / total for x in v)


def _check(p, q=None) -> None:
    for name, d in (("p", p), ("q", q)):
        if d is not None and (any(x < 0 for x in d) or not math.isclose(sum(d), 1.0, abs_tol=1e-9)):
            raise InfoError(f"{name} must be non-negative and sum to 1 (use normalise first).")
    if q is not None and len(p) != len(q):
        raise InfoError(f"p has {len(p)} classes but q has {len(q)}: they must describe the same classes.")


def _log(x: float, unit: str) -> float:
    return math.log(x) / math.log(UNITS[unit][0])


def _xlogy(x: float, y: float, unit: str) -> float:
    """x·log y with 0·log y = 0 for every y, including y = 0 (p never needs that class)."""
    if x == 0:
        return 0.0
    return -math.inf if y == 0 else x * _log(y, unit)


def _num(x: float) -> str:
    x += 0.0  # −0.0 would print as "-0.0000"
    if math.isinf(x):
        return r"\infty" if x > 0 else r"-\infty"
    return f"{x:.4f}"


def value_text(x: float) -> str:
    """A result in running text: four decimals, or ∞."""
    return f"{x:.4f}" if math.isfinite(x) else "∞"


def _prob(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".") if x == 0 or x >= 1e-4 else f"{x:.2g}"


def _signed_sum(values) -> str:
    out = _num(values[0])
    for v in values[1:]:
        out += f" - {_num(-v)}" if v < 0 else f" + {_num(v)}"
    return out


def pair_latex(p, q) -> str:
    return rf"p = ({', '.join(map(_prob, p))}),\quad q = ({', '.join(map(_prob, q))})"


@dataclass(frozen=True)
class Result:
    value: float            # may be math.inf, never NaN
    unit: str
    terms: tuple[float, ...]  # each class's contribution to the sum
    latex: str
    note: str | None = None


def zero_support_note(p, q) -> str | None:
    """Why H(p, q) and KL(p‖q) are infinite, or None when q covers every class p needs."""
    bad = [i for i, (a, b) in enumerate(zip(p, q), 1) if a > 0 and b == 0]
    if not bad:
        return None
    which = ", ".join(f"class {i} (p = {_prob(p[i - 1])})" for i in bad)
    return (f"q gives probability 0 to {which}, which p says can happen. −log 0 = ∞, so H(p, q) and "
            "KL(p‖q) are infinite: a model that is certain an outcome is impossible pays an infinite "
            "penalty when it occurs. A softmax never outputs exactly 0, and losses work with log-"
            "probabilities (log-softmax) or clamp q, so in training the loss is huge but finite.")


def entropy(p, unit: str = "nats") -> Result:
    _check(p)
    terms = tuple(-_xlogy(a, a, unit) for a in p)
    log = UNITS[unit][1]
    tex = (rf"H(p) = -\sum_i p_i {log} p_i = -\left({' + '.join(f'{_prob(a)} {log} {_prob(a)}' for a in p)}\right)"
           rf" = -\left({_signed_sum([-t for t in terms])}\right) = {_num(sum(terms))}\ \text{{{unit}}}")
    return Result(sum(terms), unit, terms, tex, "0·log 0 counts as 0." if 0 in p else None)


def cross_entropy(p, q, unit: str = "nats") -> Result:
    _check(p, q)
    terms = tuple(-_xlogy(a, b, unit) for a, b in zip(p, q))
    log = UNITS[unit][1]
    parts = " + ".join(f"{_prob(a)} {log} {_prob(b)}" for a, b in zip(p, q))
    tex = (rf"H(p, q) = -\sum_i p_i {log} q_i = -\left({parts}\right) = -\left({_signed_sum([-t for t in terms])}"
           rf"\right) = {_num(sum(terms))}\ \text{{{unit}}}")
    return Result(sum(terms), unit, terms, tex, zero_support_note(p, q))


def kl(p, q, unit: str = "nats") -> Result:
    _check(p, q)
    # log p_i − log q_i, not log(p_i/q_i): the ratio overflows to ∞ for a tiny but non-zero q_i
    terms = tuple(0.0 if a == 0 else math.inf if b == 0 else a * (_log(a, unit) - _log(b, unit))
                  for a, b in zip(p, q))
    log = UNITS[unit][1]
    parts = " + ".join(rf"{_prob(a)} {log}\frac{{{_prob(a)}}}{{{_prob(b)}}}" for a, b in zip(p, q))
    tex = (rf"\mathrm{{KL}}(p\,\|\,q) = \sum_i p_i {log}\frac{{p_i}}{{q_i}} = {parts} = {_signed_sum(terms)}"
           rf" = {_num(sum(terms))}\ \text{{{unit}}}")
    return Result(sum(terms), unit, terms, tex, zero_support_note(p, q))


@dataclass(frozen=True)
class Identity:
    h: Result
    ce: Result
    kl: Result

    @property
    def holds(self) -> bool:
        if math.isinf(self.ce.value) or math.isinf(self.kl.value):
            return math.isinf(self.ce.value) and math.isinf(self.kl.value)
        return math.isclose(self.ce.value, self.h.value + self.kl.value, rel_tol=1e-9, abs_tol=1e-12)

    @property
    def latex(self) -> str:
        return (rf"H(p, q) = H(p) + \mathrm{{KL}}(p\,\|\,q):\quad {_num(self.ce.value)} = {_num(self.h.value)}"
                rf" + {_num(self.kl.value)}")

    @property
    def note(self) -> str | None:
        return self.ce.note

    @property
    def sum_text(self) -> str:
        """'0.8018 + 0.0851 = 0.8869': H(p) + KL(p‖q) = H(p, q) in numbers, for running text."""
        return f"{value_text(self.h.value)} + {value_text(self.kl.value)} = {value_text(self.ce.value)}"

    def results(self) -> dict[str, Result]:
        """Each quantity by its name (QUANTITIES): H(p), H(p, q), KL(p‖q)."""
        return {name: getattr(self, field) for name, field in QUANTITIES.items()}


def identity_check(p, q, unit: str = "nats") -> Identity:
    return Identity(entropy(p, unit), cross_entropy(p, q, unit), kl(p, q, unit))


def binary(q_true: float, p_true: float = 1.0, unit: str = "nats") -> Identity:
    """Two classes, the first the true one. With one-hot p (p_true = 1) H(p) = 0, so the
    cross-entropy loss −log q_true IS the KL divergence: minimising one minimises the other."""
    return identity_check((p_true, 1 - p_true), (q_true, 1 - q_true), unit)


def binary_curves(p_true: float = 1.0, unit: str = "nats", n: int = 200) -> pd.DataFrame:
    """H(p, q), KL(p‖q) and H(p) as q_true goes 0 → 1, long form for a line chart. The gap between
    the first two is H(p) at every q: it does not depend on q, so both have their minimum at q = p."""
    rows = []
    for q in np.linspace(0, 1, n + 1)[1:]:
        results = binary(float(q), p_true, unit).results()
        for name in CURVES:
            if math.isfinite(results[name].value):  # where q misses a class p needs, the curve goes off the chart
                rows.append({"q_true": float(q), "quantity": name, unit: results[name].value})
    return pd.DataFrame(rows)


def table(p, q, unit: str = "nats") -> pd.DataFrame:
    """One row per class with each term; the columns sum to H(p), H(p, q) and KL(p‖q)."""
    ident = identity_check(p, q, unit)
    return pd.DataFrame({"class": range(1, len(p) + 1), "p_i": p, "q_i": q,
                         "−p_i log p_i": ident.h.terms, "−p_i log q_i": ident.ce.terms,
                         "p_i log(p_i/q_i)": ident.kl.terms})


def bar_data(p, q) -> pd.DataFrame:
    return pd.DataFrame([{"class": str(i), "distribution": name, "probability": v}
                         for name, d in (("p", p), ("q", q)) for i, v in enumerate(d, 1)])


def default_weights(k: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Slider starting points: p peaked on class 1, q a flatter guess; k = 3 is the worked example."""
    if k == 3:
        return (0.7, 0.2, 0.1), (0.5, 0.3, 0.2)
    p = normalise([2.0 ** -i for i in range(k)])
    return tuple(round(x, 2) for x in p), tuple(round(1 / k, 2) for _ in range(k))


def default_texts(k: int = 3) -> tuple[str, str]:
    """default_weights as the typed form starts: '0.7, 0.2, 0.1' and '0.5, 0.3, 0.2'."""
    p, q = default_weights(k)
    return ", ".join(f"{x:g}" for x in p), ", ".join(f"{x:g}" for x in q)


def check_prediction(ident: Identity, quantity: str, text: str) -> tuple[bool, str]:
    """A student's value for one of QUANTITIES: right within 0.005 or 1%; '∞' / 'inf' for infinity."""
    r = ident.results()[quantity]
    t = text.strip().lower()
    if t in ("∞", "inf", "infinity", "+∞", "+inf"):
        given = math.inf
    else:
        try:
            given = number(t.split()[0]) if t else None  # "0.887 nats" counts: the first word
        except ParseError:
            given = None
    if given is None:
        return False, f"I could not read '{text.strip()}' as a number: type e.g. 0.887, or ∞."
    shown = value_text(r.value) + (f" {r.unit}" if math.isfinite(r.value) else "")
    if math.isinf(r.value) or math.isinf(given):
        ok = given == r.value
    else:
        ok = abs(given - r.value) <= max(0.005, 0.01 * abs(r.value))
    if ok:
        return True, f"Correct: {quantity} = {shown}."
    other = "bits" if r.unit == "nats" else "nats"
    hint = ""
    if math.isfinite(r.value) and r.value and math.isclose(given, r.value * math.log(UNITS[r.unit][0])
                                                         / math.log(UNITS[other][0]), rel_tol=0.01):
        hint = f" That is the value in {other}: check the base of your logarithm."
    return False, f"Not quite: you said {given:g}; {quantity} = {shown}.{hint}"
