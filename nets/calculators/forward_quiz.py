"""Predict, then reveal, for the forward-pass calculator: the quantities a student can work out
(every z, a and p of a network) and the checking of a typed answer ("0.95" or "1/3" both count)."""
from __future__ import annotations

from dataclasses import dataclass

from nets.calculators.forward_pass import ForwardError, Step, num, parse_number

# An answer counts as right within rounding of two decimals, or 0.5 % of a large value.
ABS_TOL, REL_TOL = 0.005, 0.005


@dataclass(frozen=True)
class Quantity:
    label: str       # for a selectbox: "layer 1: a_2"
    latex: str       # a^{(1)}_2
    value: float


def quantities(steps: list[Step]) -> list[Quantity]:
    out, last = [], len(steps)
    for l, step in enumerate(steps, 1):
        where = "output" if l == last else f"layer {l}"
        for j, (z, a) in enumerate(zip(step.z, step.a), 1):
            out.append(Quantity(f"{where}: z_{j}", rf"z^{{({l})}}_{j}", float(z)))
            if l == last:
                out.append(Quantity(f"output: p_{j} (softmax)", rf"p_{j}", float(a)))
            else:
                out.append(Quantity(f"{where}: a_{j}", rf"a^{{({l})}}_{j}", float(a)))
    return out


def _close(given: float, value: float) -> bool:
    return abs(given - value) <= max(ABS_TOL, REL_TOL * abs(value))


def check_answer(q: Quantity, text: str, others: list[Quantity] = ()) -> tuple[bool, str]:
    """Right within ±0.005 (or 0.5 %). A wrong answer does not give the value away; if it matches
    another quantity of the same network, say which, since that is usually the slip."""
    try:
        given = parse_number(text)
    except ForwardError:
        return False, f"I could not read '{str(text).strip()}' as a number: type e.g. 0.95, -1.5 or 1/3."
    if _close(given, q.value):
        return True, f"Correct: ${q.latex} = {num(q.value)}$."
    slip = next((o for o in others if o.label != q.label and _close(given, o.value)), None)
    hint = f" That is ${slip.latex}$, not ${q.latex}$." if slip else ""
    return False, f"Not quite: {num(given)} is more than {ABS_TOL} away.{hint} Try again, or reveal."
