"""A network as a list of layer dicts: the vocabulary, ranges, labels and its one-line text form."""
# No free text anywhere in a layer: every value is a number, a bool or a choice from this table, so a
# specification is safe to put in a link, a run.json, a generated model.py or a shared server's queue.
from __future__ import annotations

import difflib
import math
import numbers
from dataclasses import dataclass

from nets.parse import ParseError

MAX_LAYERS = 64
MAX_TEXT = 1200
# The activations a layer may be (models.ACTIVATIONS less the identity; a test keeps the two in step).
ACTIVATION_TYPES = ("relu", "leaky_relu", "sigmoid", "tanh", "gelu")


class SpecError(ParseError):
    """A layer list, or its text, that is not a network; the message names the layer."""


@dataclass(frozen=True)
class Field:
    """One setting of a layer type: its kind, default and range, and how the text form writes it."""
    name: str
    kind: str                 # int, float, bool or choice
    default: object
    lo: float = 0
    hi: float = 0
    tag: str = ""             # the text form's prefix ("k5"); "" for the positional first field
    choices: tuple = ()
    help: str = ""

    def problem(self, value) -> str | None:
        if self.kind == "bool":
            return None if isinstance(value, bool) else f"{self.name} must be true or false, not {value!r}"
        if self.kind == "choice":
            return None if value in self.choices else f"{self.name} must be one of {', '.join(self.choices)}"
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not _finite(value):
            return f"{self.name} must be a number, not {str(value)[:20]!r}"
        said = f"{value:g}" if abs(value) < 1e15 else "so large"
        if self.kind == "int" and value != int(value):
            return f"{self.name} must be a whole number, not {said}"
        if not self.lo <= value <= self.hi:
            return f"{self.name} {said} must be from {self.lo:g} to {self.hi:g}"
        return None

    def coerce(self, value):
        return {"int": int, "float": float}.get(self.kind, lambda v: v)(value)


def _finite(value) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float: finite, and out of every range
        return True


@dataclass(frozen=True)
class LayerType:
    name: str                 # the dict's "type" and the text form's token
    label: str                # "Conv": labels read "Conv 1", "Conv 2"
    fields: tuple[Field, ...]
    help: str

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


def _width(default: int, hi: int, help: str) -> Field:
    return Field("out", "int", default, 1, hi, help=help)


_KERNEL = Field("kernel", "int", 3, 1, 15, "k", help="the window's side")
_POOL = (Field("kernel", "int", 2, 1, 15, help="the window's side"),
         Field("stride", "int", 0, 0, 8, "s", help="steps between windows (0: the kernel's size)"),
         Field("padding", "int", 0, 0, 7, "p", help="zeros added on each side (at most half the window)"))
_P = (Field("p", "float", 0.5, 0.0, 0.9, help="the share of units zeroed in training"),)

TYPES: dict[str, LayerType] = {t.name: t for t in (
    LayerType("conv", "Conv", (_width(16, 2048, "output channels (filters)"), _KERNEL,
                               Field("stride", "int", 1, 1, 8, "s", help="steps between windows"),
                               Field("padding", "int", 0, 0, 15, "p", help="zeros added on each side"),
                               Field("groups", "int", 1, 1, 2048, "g", help="channel groups (must divide both)"),
                               Field("bias", "bool", True, tag="nobias", help="a bias per output channel")),
              "a 2-D convolution"),
    LayerType("maxpool", "MaxPool", _POOL, "the largest value in each window"),
    LayerType("avgpool", "AvgPool", _POOL, "the mean of each window"),
    LayerType("gap", "GAP", (), "global average pooling: one mean per channel (C×H×W → C×1×1)"),
    LayerType("batchnorm", "BatchNorm", (), "batch normalisation (2-D on maps, 1-D on vectors)"),
    LayerType("dropout", "Dropout", _P, "zeroes units at random in training"),
    LayerType("dropout2d", "Dropout2d", _P, "zeroes whole channels at random in training"),
    LayerType("relu", "ReLU", (), "max(0, z)"),
    LayerType("leaky_relu", "LeakyReLU", (), "max(0.01·z, z)"),
    LayerType("sigmoid", "Sigmoid", (), "1 / (1 + e^−z)"),
    LayerType("tanh", "Tanh", (), "tanh(z)"),
    LayerType("gelu", "GELU", (), "z·Φ(z)"),
    LayerType("flatten", "Flatten", (), "a C×H×W map as one vector"),
    LayerType("linear", "Linear", (Field("out", "int", 0, 0, 16_384, help="outputs (0: one per class)"),
                                   Field("in", "int", 0, 0, 10**7, "i", help="inputs (0: whatever comes in)")),
              "a fully connected layer, W·a + b"),
    LayerType("residual", "Res", (_width(64, 2048, "output channels"),
                                  Field("stride", "int", 1, 1, 8, "s", help="the first convolution's stride")),
              "a ResNet basic block: two 3×3 convolutions with batch norm, plus the input"),
    LayerType("gated", "Gated", (_width(32, 2048, "output channels"),
                                 Field("activation", "choice", "relu", choices=(*ACTIVATION_TYPES, "linear"),
                                       help="after the mix")),
              "two 5×5 convolutions mixed per image by a learned gate"),
)}


class Layer(dict):
    """One layer as a read-only, hashable dict: it can key a cache and still be written as JSON."""

    def __hash__(self):
        return hash(tuple(sorted((k, repr(v)) for k, v in self.items())))

    def __reduce__(self):  # pickle would otherwise rebuild it through the refused __setitem__
        return Layer, (dict(self),)

    def _refuse(self, *args, **kwargs):
        raise TypeError("a Layer is read-only: make a new one with netspec.layer(...)")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _refuse

    def __or__(self, other):
        return normal({**self, **other})


def type_of(d) -> LayerType | None:
    """The type of a layer dict, or None for anything that is not one (a hostile value included)."""
    name = d.get("type") if isinstance(d, dict) else None
    return TYPES.get(name) if isinstance(name, str) else None


def layer(type: str, **fields) -> Layer:
    """A layer with every field of its type, defaults filled in."""
    if type not in TYPES:
        raise SpecError(f"no layer type '{type}'")
    unknown = set(fields) - {f.name for f in TYPES[type].fields}
    if unknown:
        raise SpecError(f"{TYPES[type].label} has no setting {', '.join(sorted(unknown))}")
    return normal({"type": type, **fields})


def normal(d) -> Layer:
    """Fill in the defaults and the number kinds; something that is not a layer is kept as it is,
    for problems() to name."""
    if isinstance(d, Layer) or not isinstance(d, dict):
        return d
    t = type_of(d)
    if t is None or any(k != "type" and t.field(k) is None for k in d):
        return Layer(d)
    out = {"type": t.name}
    for f in t.fields:
        value = d.get(f.name, f.default)
        out[f.name] = f.coerce(value) if f.problem(value) is None else value
    return Layer(out)


def labels(layers) -> list[str]:
    """'Conv 1', 'ReLU 1', 'Conv 2': each layer by its type, counted in order."""
    seen: dict[str, int] = {}
    out = []
    for d in layers:
        t = type_of(d)
        label = t.label if t else "Layer"
        seen[label] = seen.get(label, 0) + 1
        out.append(f"{label} {seen[label]}")
    return out


def problems(layers) -> list[str]:
    """What makes this not a list of layers at all (types, keys, kinds, ranges, length); shapes are
    nets.engine.netshape's."""
    if not isinstance(layers, (list, tuple)):
        return [f"layers must be a list of layer dicts, not {type(layers).__name__}"]
    if len(layers) > MAX_LAYERS:
        return [f"a network has at most {MAX_LAYERS} layers, this one has {len(layers)}"]
    found = []
    for i, (d, name) in enumerate(zip(layers, labels(layers)), 1):
        where = f"layer {i} ({name})"
        if not isinstance(d, dict):
            found.append(f"layer {i} must be a dict of settings, not {type(d).__name__}")
            continue
        t = type_of(d)
        if t is None:
            found.append(f"layer {i}: no layer type {str(d.get('type'))[:20]!r}{_near(d.get('type'))}")
            continue
        for k, v in d.items():
            f = t.field(k)
            if k != "type" and f is None:
                found.append(f"{where}: no setting {str(k)[:20]!r}; it takes {_takes(t)}")
            elif f is not None and (why := f.problem(v)):
                found.append(f"{where}: {why}")
    return found


def problem(layers) -> str | None:
    found = problems(layers)
    return found[0] if found else None


def _takes(t: LayerType) -> str:
    return ", ".join(f.name for f in t.fields) or "no settings"


def _near(word) -> str:
    match = difflib.get_close_matches(str(word), TYPES, n=1, cutoff=0.6)
    return f" (did you mean {match[0]}?)" if match else f"; the types are {', '.join(TYPES)}"


def _num(f: Field, value) -> str:
    return f"{value:g}" if f.kind == "float" else str(value)


def token(d: Layer) -> str:
    """One layer in the text form: 'conv_6_k5_p2'; defaults left out, but the width or window always
    said (a bare 'linear' is the output: one per class)."""
    t = TYPES[d["type"]]
    parts = [t.name]
    for i, f in enumerate(t.fields):
        value = d.get(f.name, f.default)
        always = i == 0 and f.kind != "choice" and not (t.name == "linear" and value == 0)
        if value == f.default and not always:
            continue
        if f.kind == "bool":
            parts.append(f.tag)
        elif f.kind == "choice":
            parts.append(str(value).replace("_", ""))  # '_' parts the token: leaky_relu is written leakyrelu
        else:
            parts.append(f"{f.tag}{_num(f, value)}")
    return "_".join(parts)


def to_text(layers) -> str:
    return ",".join(token(normal(d)) for d in layers)


def _type_of(tok: str) -> LayerType | None:
    for name in sorted(TYPES, key=len, reverse=True):  # dropout2d before dropout, leaky_relu whole
        if tok == name or tok.startswith(name + "_"):
            return TYPES[name]
    return None


def _parse_token(i: int, tok: str) -> Layer:
    t = _type_of(tok)
    where = f"layer {i} {tok[:30]!r}"
    if t is None:
        raise SpecError(f"{where}: no layer type {tok.split('_')[0][:20]!r}{_near(tok.split('_')[0])}")
    values: dict = {}
    positional = [f for f in t.fields if not f.tag and f.kind != "choice"]
    for part in tok[len(t.name):].split("_")[1:]:
        f = next((f for f in t.fields if f.kind == "bool" and part == f.tag), None) \
            or next((f for f in t.fields if f.kind == "choice" and part in _words(f)), None) \
            or next((f for f in t.fields if f.kind in ("int", "float") and f.tag and part.startswith(f.tag)
                     and _is_number(part[len(f.tag):])), None)
        if f is None and positional and _is_number(part):
            f = positional.pop(0)
        if f is None or f.name in values:
            raise SpecError(f"{where}: cannot read {part[:20]!r}; {t.label} takes {_syntax(t)}")
        if f.kind == "bool":
            values[f.name] = False
        elif f.kind == "choice":
            values[f.name] = _words(f)[part]
        else:
            number = float(part[len(f.tag):])
            values[f.name] = int(number) if f.kind == "int" and number == int(number) else number
    return normal({"type": t.name, **values})


def _words(f: Field) -> dict:
    """A choice field's values as the text form writes them ('leakyrelu') → the value ('leaky_relu')."""
    return {c.replace("_", ""): c for c in f.choices}


def _is_number(s: str) -> bool:
    try:
        return math.isfinite(float(s)) and s.strip() == s and s != ""
    except ValueError:
        return False


def _syntax(t: LayerType) -> str:
    if not t.fields:
        return "no settings"
    return " ".join(f"{f.tag}N" if f.tag and f.kind != "bool" else f.tag if f.kind == "bool"
                    else "|".join(f.choices) if f.kind == "choice" else f"N ({f.name})" for f in t.fields)


def from_text(text: str) -> tuple[Layer, ...]:
    """'conv_6_k5_p2,relu,maxpool_2,flatten,linear' as layers; SpecError names the bad token."""
    text = str(text).strip()
    if len(text) > MAX_TEXT:
        raise SpecError(f"a network's text is at most {MAX_TEXT:,} characters, this one has {len(text):,}")
    if not text:
        return ()
    tokens = [tok.strip().lower() for tok in text.replace(";", ",").split(",")]
    if len(tokens) > MAX_LAYERS:
        raise SpecError(f"a network has at most {MAX_LAYERS} layers, this one has {len(tokens)}")
    layers = tuple(_parse_token(i, tok) for i, tok in enumerate(tokens, 1) if tok)
    if found := problem(layers):
        raise SpecError(found)
    return layers


def short(layers) -> str:
    """The widths for a run's name: 'c8-c16-l64'; 'N layers' when that would be long."""
    letters = {"conv": "c", "residual": "r", "gated": "g", "linear": "l"}
    parts = [f"{letters[d['type']]}{d.get('out', 0)}" for d in layers
             if isinstance(d, dict) and d.get("type") in letters and d.get("out")]
    return "-".join(parts) if 0 < len(parts) <= 4 else f"{len(layers)} layers"
