"""The one way a form or a command line reads a list of whole numbers ("256,128,64", "256 128",
"32; 64"): commas, semicolons or spaces between positive integers, with a message that says what
was wrong. Also typed numbers ("0.95", "1/3", "−2", "70%") alone or as a list (`number`, `float_list`)."""
from __future__ import annotations

import re
from fractions import Fraction


class ParseError(ValueError):
    """Typed text that is not the number or list of numbers asked for; the message is for the user."""


def _parts(text) -> list[str]:
    """The items of a typed list: commas, semicolons or spaces between them, brackets ignored."""
    return [p for p in re.split(r"[,;\s]+", str(text).strip().strip("()[]")) if p]


def int_list(text: str, what: str = "sizes", *, lo: int = 1, hi: int | None = None,
             max_items: int | None = None, allow_empty: bool = True) -> tuple[int, ...]:
    """'256,128,64' → (256, 128, 64). `what` names the field in messages ("Hidden sizes")."""
    parts = _parts(text)
    example = "256,128,64" if lo >= 1 else "0,1,2"
    if parts and re.search(r"[,;]\s*[,;]", str(text).strip().strip("()[]")):
        raise ParseError(f"{what}: an empty item between commas in '{str(text).strip()}'; write numbers "
                         f"separated by single commas, like {example}.")
    for p in parts:
        if not re.fullmatch(r"[+-]?\d+", p):
            raise ParseError(f"{what}: write whole numbers separated by commas, like {example}; "
                             f"'{p}' is not one.")
    values = tuple(int(p) for p in parts)
    if not values and not allow_empty:
        raise ParseError(f"{what}: write at least one number, like {example}.")
    bad = [v for v in values if v < lo or (hi is not None and v > hi)]
    if bad:
        span = f"from {lo:,} to {hi:,}" if hi is not None else f"at least {lo:,}"
        raise ParseError(f"{what}: each number must be {span}; {bad[0]:,} is not.")
    if max_items is not None and len(values) > max_items:
        raise ParseError(f"{what}: at most {max_items} numbers, not {len(values)}.")
    return values


def number(text, what: str = "value") -> float:
    """'0.95', '-1', '1/3', '−2' (a typographic minus), '1e-3', '70%' → a finite float."""
    t = str(text).strip().replace("−", "-")
    percent = t.endswith("%")
    try:
        value = float(Fraction(t[:-1] if percent else t))  # Fraction: exact "1/3"; no "inf" or "nan"
    except (ValueError, ZeroDivisionError, OverflowError):
        raise ParseError(f"{what}: '{str(text).strip()}' is not a number; type e.g. 0.7 or 1/3.") from None
    return value / 100 if percent else value


def float_list(text, what: str = "values", n: int | None = None) -> tuple[float, ...]:
    """'0.7, 0.2, 0.1', '1/3; 1/3 1/3', '(1, -2)' → floats (see `number`); exactly `n` of them when given."""
    parts = _parts(text)
    values = tuple(number(p, what) for p in parts)  # a bad item is named first, before the count
    if n is not None and len(values) != n:
        raise ParseError(f"{what}: type {n} number{'s' * (n != 1)} separated by commas; you typed {len(values)}.")
    return values
