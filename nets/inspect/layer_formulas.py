"""Where a layer's parameters and output size come from, one layer at a time."""
# The lecture's notation for one module: its parameter formula ("(5·5·1+1)·6 = 156"), its output-size
# formula ("(28 − 5 + 2·2)/1 + 1 = 28"), a short description of its settings and its multiply-adds.
# Anatomy's table and the builder's (nets.inspect.netview) both read them.
from __future__ import annotations

import math

from torch import nn

from nets.engine.models import GatedConv

NONE = "—"
BUFFERS_NOTE = "(γ and β per channel; running mean and variance are buffers, not parameters)"


def pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def param_formula(m: nn.Module) -> str:
    if isinstance(m, nn.Conv2d):
        (kh, kw), c_in, c_out = m.kernel_size, m.in_channels // m.groups, m.out_channels
        note = f" (groups={m.groups}: each filter sees {m.in_channels}/{m.groups} = {c_in} channels)" \
            if m.groups > 1 else ""
        if m.bias is None:
            return f"{kh}·{kw}·{c_in}·{c_out} = {kh * kw * c_in * c_out:,}{note}"
        return f"({kh}·{kw}·{c_in}+1)·{c_out} = {(kh * kw * c_in + 1) * c_out:,}{note}"
    if isinstance(m, nn.Linear):
        i, o = m.in_features, m.out_features
        return f"{i}·{o} = {i * o:,}" if m.bias is None else f"({i}+1)·{o} = {(i + 1) * o:,}"
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        return f"2·{m.num_features} = {2 * m.num_features:,} {BUFFERS_NOTE}" if m.affine else \
            f"{NONE} (affine=False: no γ, β; running mean and variance are buffers, not parameters)"
    shapes = [tuple(p.shape) for p in m.parameters(recurse=False)]
    if not shapes:
        return NONE
    # A layer type the lecture has no formula for: show each tensor's size, so the sum still adds up.
    parts = ["·".join(str(d) for d in s) or "1" for s in shapes]
    return f"{' + '.join(parts)} = {sum(math.prod(s) for s in shapes):,}"


def side(n: int, k: int, p: int, s: int, d: int = 1, ceil: bool = False) -> tuple[str, int]:
    k_eff = d * (k - 1) + 1  # a dilated kernel spans this many pixels
    top = n - k_eff + 2 * p
    inner = f"({n} − {k_eff} + 2·{p})/{s}"
    if top % s:
        inner = f"⌈{inner}⌉" if ceil else f"⌊{inner}⌋"
    return f"{inner} + 1", (-(-top // s) if ceil else top // s) + 1


def size_formula(m: nn.Module, in_size: tuple[int, ...]) -> str:
    if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)) and len(in_size) == 3:
        if m.padding == "same":
            return "padding='same' keeps H×W"
        k, s, d = pair(m.kernel_size), pair(m.stride or m.kernel_size), pair(getattr(m, "dilation", 1))
        p, ceil = pair(0 if m.padding == "valid" else m.padding), getattr(m, "ceil_mode", False)
        sides = [side(in_size[i + 1], k[i], p[i], s[i], d[i], ceil) for i in range(2)]
        if sides[0] == sides[1]:
            return f"{sides[0][0]} = {sides[0][1]}"
        return "; ".join(f"{ax}: {text} = {val}" for ax, (text, val) in zip("HW", sides))
    if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)) and len(in_size) == 3:
        out = [o or n for o, n in zip(pair(m.output_size), in_size[1:])]
        return f"fixed by the layer: {out[0]}×{out[1]} whatever the input ({in_size[1]}×{in_size[2]} here)"
    if isinstance(m, nn.Flatten) and len(in_size) > 1:
        return f"{'·'.join(map(str, in_size))} = {math.prod(in_size):,}"
    if isinstance(m, nn.Linear):
        return f"one output per neuron: {m.out_features}"
    return "same as input"


def details(m: nn.Module, parent: nn.Module | None) -> str:
    if isinstance(m, nn.Conv2d):
        (kh, kw), s, p = m.kernel_size, m.stride, m.padding
        extra = [s != (1, 1) and f"stride {s[0]}",
                 p not in ((0, 0), "valid") and f"pad {p if isinstance(p, str) else p[0]}",
                 m.groups > 1 and f"groups {m.groups}", m.bias is None and "no bias"]
        return ", ".join([f"{kh}×{kw}, {m.in_channels}→{m.out_channels}", *filter(None, extra)])
    if isinstance(m, nn.Linear):
        gate = " (gate: channel means → 2 branch weights)" if isinstance(parent, GatedConv) else ""
        return f"{m.in_features}→{m.out_features}" + (", no bias" if m.bias is None else "") + gate
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        return f"{m.num_features} channels"
    if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)):
        k, s, p = pair(m.kernel_size), pair(m.stride or m.kernel_size), pair(m.padding)
        return f"{k[0]}×{k[1]}, stride {s[0]}" + (f", pad {p[0]}" if p[0] else "")
    if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        return f"output {'×'.join(str(o) for o in pair(m.output_size))}"
    if isinstance(m, nn.modules.dropout._DropoutNd):
        return f"p = {m.p}"
    return ""


def mult_adds(m: nn.Module, out: tuple[int, ...]) -> int:
    """Multiply-adds per image of the conv and linear layers, which dominate the cost."""
    if isinstance(m, nn.Conv2d) and len(out) == 3:
        return m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups) * math.prod(out)
    if isinstance(m, nn.Linear):
        return m.in_features * m.out_features
    return 0


def fmt(size) -> str:
    return "×".join(str(d) for d in size)
