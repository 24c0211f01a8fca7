"""The builder's table: one row per layer with its formulas, and the totals."""
# The numbers (shapes, parameters, multiply-adds, problems) are always nets.engine.netshape's arithmetic, so
# a broken or absurd network still gets a table. Only a network that passes its checks is also built on the
# meta device (no memory) and traced by nets.inspect.anatomy, for the formulas Anatomy shows; a residual
# block's modules are grouped back into its one row. Plain dicts and strings: the page draws them.
from __future__ import annotations

import re

import torch

from nets.engine import netbuild, netshape, netspec
from nets.inspect.anatomy import layer_table
from nets.inspect.layer_formulas import NONE

UNKNOWN = "?"          # an output size after the first problem: the arithmetic stops there
PROBLEM, WARNING = "✗", "⚠"
NOTE = re.compile(r" \(.+\)$")   # a formula's trailing note: '2·16 = 32 (γ and β per channel; …)'
COLUMNS = ("#", "layer", "settings", "output", "parameters", "multiply-adds", "check")


def formulas(layers, in_shape, classes: int | None) -> dict[int, list[dict]]:
    """Spec index → the anatomy rows of its modules (a residual or gated block has several), from a
    meta-device build. Only for a network whose analysis is ok (netbuild.build refuses any other)."""
    with torch.device("meta"):
        model = netbuild.build(layers, tuple(in_shape), classes or 0)
    names = getattr(model, "layer_labels", {})
    grouped: dict[int, list[dict]] = {}
    for row in layer_table(model, tuple(in_shape), device="meta"):
        top = row["layer"].split(".")[0]
        if not top.isdigit():  # the model itself (a container that owns parameters): not a spec layer
            continue
        grouped.setdefault(int(top), []).append({**row, "part": names.get(row["layer"], "")})
    return grouped


def _part_name(part: dict, label: str) -> str:
    """'conv a' from 'Res 1 · conv a'; the module's type when the build gave no label."""
    name = part.get("part") or ""
    return name.split(" · ", 1)[1] if " · " in name else (name if name and name != label else part["type"])


def _joined(parts: list[dict], label: str, key: str) -> str:
    """One module's formula as Anatomy writes it; a block's, each part's without its note, then the total."""
    if len(parts) == 1:
        return parts[0][key]
    if key == "formula":
        said = [f"{_part_name(p, label)}: {NOTE.sub('', p[key])}" for p in parts if not p[key].startswith(NONE)]
        return "; ".join(said) + f"; in all {sum(p['params'] for p in parts):,}"
    return "; ".join(f"{_part_name(p, label)}: {p[key]}" for p in parts if p[key] and p[key] != "same as input")


def builder_rows(layers, in_shape, classes: int | None, analysis: netshape.Analysis | None = None) -> list[dict]:
    """One dict per spec layer: the table's COLUMNS, then "param formula", "size formula" and "parts" (a
    block's modules, each with its own formulas) for the editor. netshape's numbers always; the formulas
    only when the network is ok ("" otherwise)."""
    analysis = analysis or netshape.analyse(layers, tuple(in_shape), classes)
    flagged = {p.index for p in analysis.problems}
    warned = {w.index for w in analysis.warnings}
    built = formulas(layers, in_shape, classes) if analysis.ok and analysis.rows else {}
    rows = []
    for r in analysis.rows:
        parts = built.get(r.index, [])
        rows.append({
            # after the first problem the arithmetic has no shapes: the layer's text form stands for its settings
            "#": r.index + 1, "layer": r.label,
            "settings": r.settings or (netspec.token(netspec.normal(layers[r.index]))
                                       if r.out_shape is None and netspec.TYPES[r.type].fields else ""),
            "output": netshape.shape_text(r.out_shape) if r.out_shape is not None else UNKNOWN,
            "parameters": r.params, "multiply-adds": r.mult_adds,
            "check": PROBLEM if r.index in flagged else WARNING if r.index in warned else "",
            "param formula": _joined(parts, r.label, "formula") if parts else "",
            "size formula": _joined(parts, r.label, "size formula") if parts else "",
            "parts": [{"part": _part_name(p, r.label), "type": p["type"], "details": p["details"],
                       "input size": p["input size"], "output size": p["output size"], "params": p["params"],
                       "formula": p["formula"], "size formula": p["size formula"]} for p in parts]
            if len(parts) > 1 else [],
        })
    # the layers after the first problem: the arithmetic stopped, so their text form stands for their settings
    names = netspec.labels(layers)
    for i in range(len(rows), len(layers)):
        d = layers[i]
        known = isinstance(d, dict) and d.get("type") in netspec.TYPES and not netspec.problems([d])
        rows.append({"#": i + 1, "layer": names[i], "settings": netspec.token(netspec.normal(d)) if known else "",
                     "output": UNKNOWN, "parameters": 0, "multiply-adds": 0, "check": "", "param formula": "",
                     "size formula": "", "parts": []})
    return rows


def totals(analysis: netshape.Analysis) -> dict:
    """What the summary line says: parameters, multiply-adds per image, numbers per image (for memory),
    the output shape, and whether the network is ok."""
    return {"parameters": analysis.params, "multiply-adds": analysis.mult_adds,
            "activations": analysis.activations, "ok": analysis.ok,
            "output": netshape.shape_text(analysis.out_shape) if analysis.out_shape is not None else UNKNOWN}


def _mega(n: int) -> str:
    return f"{n:,}" if n < 10**5 else f"{n / 1e6:,.2f} M" if n < 10**9 else f"{n / 1e9:,.1f} billion"


def summary(analysis: netshape.Analysis, in_shape, classes: int | None, memory_mb: float | None = None,
            batch_size: int = 0) -> str:
    """The builder's one line (Markdown, our own numbers): '1×28×28 → 10 classes · **8,490 parameters** ·
    0.47 M multiply-adds per image · ≈ 14 MB at batch 64'."""
    out = f"{classes} classes" if classes else "one output per class"
    parts = [f"{netshape.shape_text(in_shape)} → {out}"]
    if not analysis.ok:
        return " · ".join(parts + [f"{len(analysis.problems)} problem{'s' if len(analysis.problems) > 1 else ''} "
                                   "to fix before it can be counted"])
    parts += [f"**{analysis.params:,} parameters**", f"{_mega(analysis.mult_adds)} multiply-adds per image"]
    if memory_mb is not None:
        parts.append(f"≈ {memory_mb:,.0f} MB at batch {batch_size}" if memory_mb >= 1 else
                     f"< 1 MB at batch {batch_size}")
    return " · ".join(parts)
