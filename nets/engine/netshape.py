"""A layer list's shapes, parameters and multiply-adds by arithmetic; problems that name the layer, and their fixes."""
# Pure Python ints: a spec of 8.8·10¹² weights is a number here, never an allocation.
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from nets.engine import netspec

PARAM_LIMIT = 10**11
NUMBERS_LIMIT = 10**10
UNKNOWN_CLASSES = 2      # the arithmetic's output width when the classes are not known yet
MAP_ONLY = ("conv", "maxpool", "avgpool", "gap", "residual", "gated", "dropout2d")
AFTER_OUTPUT = (*netspec.ACTIVATION_TYPES, "dropout", "batchnorm")


@dataclass(frozen=True)
class Fix:
    """An edit: insert `layer` at index, set (replace) the layer at index, remove it, move it to `to`
    (popped, then inserted there), or append `layer`; insert and append also take a tuple of layers."""
    text: str
    op: str
    index: int
    layer: object = None
    to: int | None = None


@dataclass(frozen=True)
class Problem:
    index: int               # the layer's position in the list; -1: the whole network
    label: str               # "Conv 3", or "the network"
    text: str
    fixes: tuple = ()


@dataclass(frozen=True)
class Row:
    index: int
    label: str
    type: str
    settings: str            # "5×5, 1→6, pad 2", "2×2 / 2", "400 → 120"
    in_shape: tuple | None   # None after the first problem
    out_shape: tuple | None
    params: int
    mult_adds: int


@dataclass(frozen=True)
class Analysis:
    rows: tuple
    problems: tuple
    warnings: tuple
    params: int
    mult_adds: int
    out_shape: tuple | None
    activations: int         # numbers per image, summed over every output (and a block's insides)

    @property
    def ok(self) -> bool:
        return not self.problems


def shape_text(shape) -> str:
    return "×".join(str(n) for n in shape)


def apply_fix(layers, fix: Fix) -> tuple:
    """The layers with the fix made (a new tuple)."""
    items = [netspec.normal(dict(d)) if isinstance(d, dict) else d for d in layers]
    new = list(fix.layer) if isinstance(fix.layer, tuple) else [fix.layer]
    i = len(items) if fix.op == "append" else fix.index
    if fix.op == "move":
        items.insert(fix.to, items.pop(i))
    elif fix.op in ("insert", "append", "set", "remove"):
        items[i:i + (fix.op in ("set", "remove"))] = [] if fix.op == "remove" else new
    else:
        raise ValueError(f"no fix operation {fix.op!r}")
    return tuple(items)


def _big(n: int) -> str:
    size, word = next((x for x in ((10**12, "trillion"), (10**9, "billion"), (1, "")) if n >= x[0]))
    return f"{n / size:,.1f} {word}" if word else f"{n:,}"


def _side(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


class _Stop(Exception):
    """A problem that stops the walk (its one argument)."""


class _Walk:
    """The state while walking the layers: where the vector was flattened, and the warnings."""

    def __init__(self, layers, labels, classes):
        self.layers, self.labels, self.classes = layers, labels, classes
        self.flat_at = self.origin = self.flat_shape = None
        self.warnings, self.rows, self.numbers = [], [], 0  # Problems, Rows, numbers per image so far

    def stop(self, i, text, *fixes):
        raise _Stop(Problem(i, self.labels[i] if i >= 0 else "the network", text, tuple(fixes)))

    def remove(self, i):
        return Fix(f"remove {self.labels[i]}", "remove", i)

    def map(self, i, shape):
        if len(shape) == 3:
            return shape
        label, f = self.labels[i], self.flat_at
        where = f"Flatten is layer {f + 1}" if f is not None else "the input is flat"
        move = f is not None and [t for d in self.layers[f:i] if (t := d["type"]) in ("linear", "flatten")] \
            == ["flatten"]  # one Flatten, no Linear between: moving it cannot make a new problem
        self.stop(i, f"{label} needs a C×H×W map but gets {shape[0]:,} numbers ({where})",
                  *[Fix(f"move Flatten after {label}", "move", f, to=i)] * move, self.remove(i))

    def floored(self, i, h, w, k, s, p, hi):
        whole = next((q for q in range(p + 1, hi + 1) if all((m + 2 * q - k) % s == 0 for m in (h, w))), 0)
        for n in [n for n in (h, w) if (n + 2 * p - k) % s][:1]:
            self.warnings.append(Problem(i, self.labels[i], f"{self.labels[i]}: ({n} + 2·{p} − {k})/{s} + 1 = "
                                         f"{(n + 2 * p - k) / s + 1:.4g}: PyTorch floors it to {_side(n, k, s, p)} "
                                         "and drops the last rows" + f"; padding {whole} makes it whole" * bool(whole),
                                         (Fix(f"padding {whole}", "set", i, self.layers[i] | {"padding": whole}),)
                                         * bool(whole)))


def _conv(w: _Walk, i, d, shape):
    c, h, wd = w.map(i, shape)
    label, k, s, p, g, out = w.labels[i], d["kernel"], d["stride"], d["padding"], d["groups"], d["out"]
    if c % g or out % g:
        common = math.gcd(c, out)
        best = max(x for x in range(1, min(g, common) + 1) if common % x == 0)
        fixes = [Fix(f"groups {x}", "set", i, d | {"groups": x}) for x in dict.fromkeys((best, 1))]
        w.stop(i, f"{label}: groups {g} must divide its {c} input channels and its {out} outputs", *fixes)
    if k > (n := min(h, wd)) + 2 * p:
        same = s == 1 and k % 2 == 1  # 'same' padding keeps the size; otherwise the least that fits
        q, kk = (k - 1) // 2 if same else -(-(k - n) // 2), n + 2 * p - (n % 2 == 0)
        w.stop(i, f"{label}'s {k}×{k} kernel does not fit the {h}×{wd} map (padding {p})",
               Fix(f"padding {q}" + f" keeps {h}×{wd}" * same, "set", i, d | {"padding": q}),
               Fix(f"kernel {kk}", "set", i, d | {"kernel": kk}), w.remove(i))
    w.floored(i, h, wd, k, s, p, 15)
    o = (out, _side(h, k, s, p), _side(wd, k, s, p))
    per = k * k * c // g
    text = f"{k}×{k}, {c}→{out}" + (f", pad {p}" if p else "") + (f", /{s}" if s > 1 else "") \
        + (f", groups {g}" if g > 1 else "") + ("" if d["bias"] else ", no bias")
    return o, (per + d["bias"]) * out, per * math.prod(o), math.prod(o), text


def _pool(w: _Walk, i, d, shape):
    c, h, wd = w.map(i, shape)
    label, k, p, s = w.labels[i], d["kernel"], d["padding"], d["stride"] or d["kernel"]
    if p > k // 2:
        w.stop(i, f"{label}: padding {p} is more than half its {k}×{k} window",
               Fix(f"padding {k // 2}", "set", i, d | {"padding": k // 2}))
    if k > min(h, wd) + 2 * p:
        kk = min(h, wd) + 2 * p
        fixes = [Fix(f"kernel {kk}", "set", i, d | {"kernel": kk})] if kk >= 2 else []
        w.stop(i, f"{label}: a {k}×{k} pool on a {h}×{wd} map is impossible (padding {p}): remove it",
               w.remove(i), *fixes)
    w.floored(i, h, wd, k, s, p, k // 2)
    o = (c, _side(h, k, s, p), _side(wd, k, s, p))
    return o, 0, 0, math.prod(o), f"{k}×{k} / {s}" + (f", pad {p}" if p else "")


def _linear(w: _Walk, i, d, shape):
    label = w.labels[i]
    if len(shape) != 1:
        w.stop(i, f"{label} gets a {shape_text(shape)} map, but a Linear layer takes a flat vector",
               Fix(f"insert Flatten before {label}", "insert", i, netspec.layer("flatten")))
    n, out = shape[0], d["out"] or w.classes or UNKNOWN_CLASSES
    if d["in"] and d["in"] != n:
        came = f"{n:,} = {shape_text(w.origin)}" if w.origin else f"{n:,}"
        w.stop(i, f"{label} expects {d['in']:,} inputs (in={d['in']}) but gets {came}: this is PyTorch's "
                  f"'mat1 and mat2 shapes cannot be multiplied (64x{n} and {d['in']}x{out})' for a batch of 64",
               *[Fix(f"set in to {n}", "set", i, d | {"in": n})] * (n <= 10**7),
               Fix("make in automatic", "set", i, d | {"in": 0}))
    w.origin = None
    shown = out if d["out"] or w.classes else "classes"
    return (out,), (n + 1) * out, n * out, out, f"{n:,} → {shown}"


def _residual(w: _Walk, i, d, shape):
    c, h, wd = w.map(i, shape)
    out, s = d["out"], d["stride"]
    o = (out, (h - 1) // s + 1, (wd - 1) // s + 1)
    short = s != 1 or c != out
    params = 9 * c * out + 9 * out * out + 4 * out + (c * out + 2 * out) * short
    mult = math.prod(o[1:]) * out * (9 * c + 9 * out + c * short)
    return o, params, mult, math.prod(o) * (6 + 2 * short), f"{c} → {out}" + (f", /{s}" if s > 1 else "")


def _gated(w: _Walk, i, d, shape):
    c, h, wd = w.map(i, shape)
    if min(h, wd) < 5:
        w.stop(i, f"{w.labels[i]}'s 5×5 kernels do not fit the {h}×{wd} map (no padding)", w.remove(i))
    o = (out := d["out"], h - 4, wd - 4)
    return (o, 2 * (25 * c + 1) * out + (c + 1) * 2, 2 * 25 * c * math.prod(o) + 2 * c, 4 * math.prod(o),
            f"5×5 ×2, {c}→{out}, {d['activation']}")


def _other(w: _Walk, i, d, shape):
    t = d["type"]
    if t in MAP_ONLY:
        shape = w.map(i, shape)
    if t == "gap":
        return (shape[0], 1, 1), 0, 0, shape[0], f"{shape_text(shape[1:])} → 1×1"
    if t == "flatten":
        if len(shape) == 3:
            w.flat_at, w.origin, w.flat_shape = i, shape, shape
        return (math.prod(shape),), 0, 0, 0, f"{shape_text(shape)} → {math.prod(shape):,}"
    if t == "batchnorm":
        return shape, 2 * shape[0], 0, math.prod(shape), f"{shape[0]} {'channels' if len(shape) == 3 else 'features'}"
    return shape, 0, 0, math.prod(shape), f"p {d['p']:g}" if "p" in d else ""


_STEPS = {"conv": _conv, "maxpool": _pool, "avgpool": _pool, "linear": _linear, "residual": _residual, "gated": _gated}


def _structural(layers) -> list[Problem]:
    try:
        found = netspec.problems(layers)
        names = netspec.labels(layers) if isinstance(layers, (list, tuple)) else []
    except Exception as e:  # noqa: BLE001 - a value netspec cannot even look at
        return [Problem(-1, "the network", f"the network cannot be read: {type(e).__name__} {str(e)[:60]}")]
    where = [int(m.group(1)) - 1 if (m := re.match(r"layer (\d+)", t)) else -1 for t in found]
    return [Problem(i, names[i] if 0 <= i < len(names) else "the network", t) for i, t in zip(where, found)]


def _end(w: _Walk, shape, n) -> None:
    """The output Linear: present, one output per class; what follows it is only warned about."""
    layers, labels, classes = w.layers, w.labels, w.classes
    linears = [i for i, d in enumerate(layers) if d["type"] == "linear"]
    if not linears:
        text = "The network must end in a Linear layer with one output per class" + (f" ({classes})" if classes else "")
        add = (netspec.layer("flatten"),) * (len(shape) == 3) + (netspec.layer("linear"),)
        now = f"a {shape_text(shape)} map" if len(shape) == 3 else f"{shape[0]:,} numbers"
        w.stop(-1, f"{text}; now it ends with {now}",
               Fix(f"add {'Flatten and ' * (len(add) == 2)}Linear ({classes or 'one per class'} outputs) at the end",
                   "append", n, add))
    last = linears[-1]
    d = layers[last]
    if classes and d["out"] not in (0, classes):
        w.stop(last, f"{labels[last]} is the output: it needs {classes} outputs, one per class, not {d['out']}",
               Fix("follow the classes (out 0)", "set", last, d | {"out": 0}))
    w.warnings += [Problem(j, labels[j], f"{labels[j]} comes after the output layer {labels[last]}: the loss "
                           "wants the raw scores (logits), so this only gets in the way", (w.remove(j),))
                   for j in range(last + 1, n) if layers[j]["type"] in AFTER_OUTPUT]
    w.warnings += [Problem(j, labels[j], f"{labels[j - 1]} and {labels[j]} have nothing between them: two linear "
                           "maps in a row are one linear map",
                           (Fix(f"insert ReLU before {labels[j]}", "insert", j, netspec.layer("relu")),))
                   for j in linears if j and layers[j - 1]["type"] == "linear"]
    bare = [j for j, d in enumerate(layers) if d["type"] in ("sigmoid", "tanh")
            and (j == 0 or layers[j - 1]["type"] != "batchnorm")]
    if len(bare) > 4:  # each saturating layer scales the gradient by at most 1/4 (sigmoid) without batch norm
        w.warnings.append(Problem(-1, "the network", f"{len(bare)} Sigmoid/Tanh layers without a BatchNorm before "
                                  "them: the gradient shrinks at each, so the first layers barely learn (a BatchNorm "
                                  "before each, or ReLU, keeps it)"))


def analyse(layers, in_shape: tuple, classes: int | None) -> Analysis:
    """Each layer's shape, parameters and multiply-adds, the problem that stops the walk, and the warnings.
    Linear out 0 is one output per class; classes None (a folder dataset): its width is not checked,
    the table says "classes" and the arithmetic uses 2 (UNKNOWN_CLASSES)."""
    found = _structural(layers)
    if found or not layers:
        start = Fix("start with Flatten → Linear", "append", 0, (netspec.layer("flatten"), netspec.layer("linear")))
        return Analysis((), tuple(found) or (Problem(-1, "the network", "No layers yet: the network needs at least a "
                                                     "Linear layer with one output per class", (start,)),),
                        (), 0, 0, None, 0)
    layers = tuple(netspec.normal(dict(d)) for d in layers)  # dict(): a Layer made without normal() gets filled too
    w = _Walk(layers, netspec.labels(layers), classes)
    try:
        shape, problems = _walk(w, tuple(in_shape)), ()
        _end(w, shape, len(layers))
    except _Stop as stop:
        shape, problems = None, stop.args
    rows = w.rows + [Row(i, w.labels[i], d["type"], "", None, None, 0, 0) for i, d in enumerate(layers)][len(w.rows):]
    return Analysis(tuple(rows), problems, tuple(w.warnings), sum(r.params for r in rows),
                    sum(r.mult_adds for r in rows), shape, w.numbers)


def _walk(w: _Walk, shape) -> tuple:
    for i, d in enumerate(w.layers):
        w.rows.append(Row(i, w.labels[i], d["type"], "", shape, None, 0, 0))  # until the layer works out
        out, p, m, numbers, settings = _STEPS.get(d["type"], _other)(w, i, d, shape)
        params = sum(r.params for r in w.rows) + p
        if params > PARAM_LIMIT or math.prod(out) > NUMBERS_LIMIT:
            label = w.labels[i]
            w.stop(i, f"{label} would bring the network to {_big(params)} parameters, more than the 100 billion "
                      f"allowed" if params > PARAM_LIMIT else f"{label} would output {_big(math.prod(out))} numbers "
                      f"per image ({shape_text(out)}), more than 10 billion",
                   *[Fix("insert MaxPool 2 before Flatten", "insert", w.flat_at, netspec.layer("maxpool"))]
                   * (w.flat_at is not None and min(w.flat_shape[1:]) >= 2), w.remove(i))
        w.rows[-1] = Row(i, w.labels[i], d["type"], settings, shape, out, p, m)
        w.numbers, shape = w.numbers + numbers, out
    return shape
