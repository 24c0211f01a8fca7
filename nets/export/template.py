"""Filling in the export's script templates (templates/*.in): {{name}} values and `#% if flag` blocks; plural words."""
from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "templates"
_VALUE = re.compile(r"\{\{(\w+)\}\}")


def plural(n: int, word: str) -> str:
    """'1 epoch', '5 epochs', '0 epochs'."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def render(name: str, values: dict, flags: dict | None = None) -> str:
    """Template `name` with its `#% if flag` / `#% else` / `#% end` lines resolved (blocks may nest),
    then every {{key}} replaced by str(values[key]). A key or flag the template uses but the caller
    does not give is an error, so a template and its caller cannot drift apart silently."""
    flags = flags or {}
    keep, out = [True], []
    for line in (TEMPLATES / name).read_text().splitlines(keepends=True):
        cmd = line.strip()
        if cmd.startswith("#% if "):
            keep.append(keep[-1] and bool(flags[cmd[6:].strip()]))
        elif cmd == "#% else":
            keep[-1] = keep[-2] and not keep[-1]
        elif cmd == "#% end":
            keep.pop()
        elif keep[-1]:
            out.append(line)
    if len(keep) != 1:
        raise ValueError(f"Template {name}: an `#% if` block is not closed.")
    return _VALUE.sub(lambda m: str(values[m.group(1)]), "".join(out))
