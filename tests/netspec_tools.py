"""Layer lists for the builder's tests: any_specs() (random, mostly invalid, hostile values included) and
valid_specs(in_shape) (valid by construction), Hypothesis strategies; random_valid(seed, in_shape) without it.

Use them with @settings(derandomize=True, deadline=None, max_examples=...) so a run is repeatable.
"""
from __future__ import annotations

import math
import random

from hypothesis import strategies as st

from nets.engine import netspec

SHAPES = ((1, 28, 28), (3, 32, 32))
MAX_VALID_LAYERS = 10
MAX_CHANNELS = 16

# Values a hand-edited link or run.json might hold: out of range, negative, floats for ints, bools,
# strings, None, containers, and one int too large for a float.
HOSTILE = st.one_of(
    st.integers(-10**6, 10**6), st.integers(10**7, 10**30), st.just(10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.text(max_size=6), st.none(),
    st.lists(st.integers(0, 3), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(), max_size=1))


def _plausible(f: netspec.Field):
    """A value of the right kind in range: mostly small, sometimes anywhere up to the top, ints sometimes
    written as whole floats (6.0)."""
    if f.kind == "bool":
        return st.booleans()
    if f.kind == "choice":
        return st.sampled_from(f.choices)
    if f.kind == "float":
        return st.floats(f.lo, f.hi)
    small = st.integers(int(f.lo), int(min(f.hi, f.lo + 20)))
    return st.one_of(small, small, small, st.integers(int(f.lo), int(f.hi)), small.map(float))


def _near_range(f: netspec.Field):
    """Just outside the range, or a fraction where a whole number belongs."""
    if f.kind in ("bool", "choice"):
        return HOSTILE
    return st.one_of(st.floats(f.lo - 2, f.lo - 0.01), st.floats(f.hi + 0.01, f.hi + 2),
                     st.floats(f.lo, f.hi).filter(lambda v: f.kind == "float" or v != int(v)))


def _typed_layer(name: str, hostile: bool):
    t = netspec.TYPES[name]
    optional = {f.name: st.one_of(_plausible(f), _near_range(f), HOSTILE) if hostile else _plausible(f)
                for f in t.fields}
    if hostile:
        optional["colour"] = HOSTILE
    return st.fixed_dictionaries({"type": st.just(name)}, optional=optional)


_TYPE_NAMES = st.sampled_from(sorted(netspec.TYPES))


def any_layers(hostile: bool = True):
    """One layer dict of a real type; with hostile, sometimes not a layer at all."""
    typed = _TYPE_NAMES.flatmap(lambda name: _typed_layer(name, hostile))
    if not hostile:
        return typed
    return st.one_of(typed, typed, typed, st.fixed_dictionaries({"type": st.one_of(st.text(max_size=8), HOSTILE)}),
                     HOSTILE)


def any_specs():
    """Random layer lists, mostly not networks: wrong shapes (plausible values), broken values, non-lists,
    too many layers, the empty list."""
    plausible = st.lists(any_layers(hostile=False), max_size=10)
    near_miss = st.builds(lambda seed: _build(_Random(seed), SHAPES[seed % 2]), st.integers(0, 10**6)).flatmap(_break)
    rare = st.one_of(HOSTILE, st.text(max_size=20), st.just([]),
                     st.lists(st.sampled_from(("flatten", "relu", "linear", "conv")).map(netspec.layer),
                              min_size=netspec.MAX_LAYERS + 1, max_size=netspec.MAX_LAYERS + 3))
    return st.sampled_from(("plausible", "tuple", "near miss", "hostile", "rare", "plausible", "near miss",
                            "near miss")).flatmap(lambda kind: {
        "plausible": plausible, "tuple": plausible.map(tuple), "near miss": near_miss, "rare": rare,
        "hostile": st.lists(any_layers(hostile=True), max_size=8)}[kind])


def _break(layers):
    """A valid network with one layer changed, removed or inserted: near misses, the common case."""
    n = len(layers)
    return st.one_of(
        st.tuples(st.integers(0, n - 1), any_layers(hostile=False)).map(
            lambda p: layers[:p[0]] + (p[1],) + layers[p[0] + 1:]),
        st.integers(0, n - 1).map(lambda i: layers[:i] + layers[i + 1:]),
        st.tuples(st.integers(0, n), any_layers(hostile=False)).map(lambda p: layers[:p[0]] + (p[1],) + layers[p[0]:]))


class _Draw:
    """Choices made by Hypothesis (it shrinks them)."""

    def __init__(self, draw):
        self.draw = draw

    def int(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def pick(self, options):
        return self.draw(st.sampled_from(list(options)))


class _Random:
    """The same choices from a seeded random.Random."""

    def __init__(self, seed):
        self.random = random.Random(seed)

    def int(self, lo: int, hi: int) -> int:
        return self.random.randint(lo, hi)

    def pick(self, options):
        return self.random.choice(list(options))


def _build(ch, in_shape) -> tuple:
    """A valid network for in_shape: a few map layers chosen to fit the map, Flatten, hidden Linears with
    an activation after each, the output Linear (out 0); at most MAX_VALID_LAYERS layers."""
    L = netspec.layer
    c, h, w = in_shape
    layers = []
    for _ in range(ch.int(0, 5)):
        side = min(h, w)
        kinds = ["conv", "conv", "act", "batchnorm", "dropout2d", "dropout", "residual"]
        kinds += ["maxpool", "avgpool"] * (side >= 2) + ["gated"] * (side >= 5) + ["gap"] * (side >= 2)
        kind = ch.pick(kinds)
        if kind == "conv":
            out, p, s = ch.int(1, MAX_CHANNELS), ch.int(0, 2), ch.int(1, 2)
            k = ch.pick([k for k in (1, 2, 3, 5) if k <= side + 2 * p])
            g = ch.pick([g for g in (1, 2, 4) if math.gcd(c, out) % g == 0])
            layers.append(L("conv", out=out, kernel=k, stride=s, padding=p, groups=g, bias=ch.pick((True, False))))
            c, h, w = out, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        elif kind in ("maxpool", "avgpool"):
            k = ch.int(2, min(3, side))
            s, p = ch.pick((0, 1, 2)), ch.int(0, k // 2)
            layers.append(L(kind, kernel=k, stride=s, padding=p))
            h, w = ((n + 2 * p - k) // (s or k) + 1 for n in (h, w))
        elif kind == "residual":
            out, s = ch.int(1, MAX_CHANNELS), ch.int(1, 2)
            layers.append(L("residual", out=out, stride=s))
            c, h, w = out, (h - 1) // s + 1, (w - 1) // s + 1
        elif kind == "gated":
            out = ch.int(1, MAX_CHANNELS)
            layers.append(L("gated", out=out, activation=ch.pick(netspec.TYPES["gated"].field("activation").choices)))
            c, h, w = out, h - 4, w - 4
        elif kind == "gap":
            layers.append(L("gap"))
            h = w = 1
        elif kind == "act":
            layers.append(L(ch.pick(netspec.ACTIVATION_TYPES)))
        elif kind in ("dropout", "dropout2d"):
            layers.append(L(kind, p=ch.pick((0.0, 0.25, 0.5))))
        else:
            layers.append(L(kind))
    layers.append(L("flatten"))
    n = c * h * w
    for _ in range(ch.int(0, 2)):
        if len(layers) + 3 > MAX_VALID_LAYERS:
            break
        out = ch.int(2, 32)
        layers += [L("linear", out=out, **{"in": ch.pick((0, n))}), L(ch.pick(netspec.ACTIVATION_TYPES))]
        n = out
        if len(layers) + 2 <= MAX_VALID_LAYERS and ch.int(0, 2) == 0:
            layers.append(L(ch.pick(("dropout", "batchnorm"))))
    layers.append(L("linear", **{"in": ch.pick((0, n))}))
    return tuple(layers)


@st.composite
def valid_specs(draw, in_shape=(1, 28, 28)):
    """A valid network for in_shape ((C, H, W); SHAPES are the tested ones), built to fit as it goes:
    every layer type, residual with stride 2, gated, grouped convolutions, explicit in; ≤ 10 layers,
    ≤ 16 channels."""
    return _build(_Draw(draw), tuple(in_shape))


def random_valid(seed, in_shape=(1, 28, 28)) -> tuple:
    """One valid network for in_shape from a seed, without Hypothesis."""
    return _build(_Random(seed), tuple(in_shape))
