"""The one way a form or a command line reads a list of whole numbers ("256,128,64", "256 128",
"32; 64"): commas, semicolons or spaces between positive integers, with a message that says what
was wrong."""
from __future__ import annotations

import re


class ParseError(ValueError):
    """A typed list that is not a list of whole numbers in range; the message is for the user."""


def int_list(text: str, what: str = "sizes", *, lo: int = 1, hi: int | None = None,
             max_items: int | None = None, allow_empty: bool = True) -> tuple[int, ...]:
    """'256,128,64' → (256, 128, 64). `what` names the field in messages ("Hidden sizes")."""
    parts = [p for p in re.split(r"[,;\s]+", str(text).strip().strip("()[]")) if p]
    example = "256,128,64" if lo >= 1 else "0,1,2"
    for p in parts:
        if not re.fullmatch(r"[+-]?\d+", p):
            raise ParseError(f"{what}: write whole numbers separated by commas, like {example}; "
                             f"'{p}' is not one.")
    values = tuple(int(p) for p in parts)
    if not values and not allow_empty:
        raise ParseError(f"{what}: write at least one number, like {example}.")
    bad = [v for v in values if v < lo or (hi is not None and v > hi)]
    if bad:
        span = f"from {lo:,} to {hi:,}" if hi is not None else f"of at least {lo:,}"
        raise ParseError(f"{what}: each number must be {span}; {bad[0]:,} is not.")
    if max_items is not None and len(values) > max_items:
        raise ParseError(f"{what}: at most {max_items} numbers, not {len(values)}.")
    return values
