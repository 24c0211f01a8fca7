"""Anatomy of a network: where each parameter and each output size comes from, in lecture notation.

Rows come from `nets.inspect.summary` (a real forward pass); the formulas are rebuilt from each layer's
hyper-parameters, so a test can check that the arithmetic a student reads gives the real count.
Also: an MLP-vs-CNN comparison and a "predict, then reveal" quiz on the table's rows.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from torch import nn

from nets.engine.models import GatedConv, ModelError, build_model, model_defaults
from nets.engine.options import OPTIONS
from nets.inspect.summary import summarize

# Caps keep a typo like "100000,100000" from allocating billions of weights on a shared server: the
# table comes from a real forward pass, so this page allows narrower, shallower models than training.
MAX_WIDTH, MAX_LAYERS = 4096, 8
NONE = "—"
BUFFERS_NOTE = "(γ and β per channel; running mean and variance are buffers, not parameters)"


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _param_formula(m: nn.Module) -> str:
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


def _side(n: int, k: int, p: int, s: int, d: int = 1, ceil: bool = False) -> tuple[str, int]:
    k_eff = d * (k - 1) + 1  # a dilated kernel spans this many pixels
    top = n - k_eff + 2 * p
    inner = f"({n} − {k_eff} + 2·{p})/{s}"
    if top % s:
        inner = f"⌈{inner}⌉" if ceil else f"⌊{inner}⌋"
    return f"{inner} + 1", (-(-top // s) if ceil else top // s) + 1


def _size_formula(m: nn.Module, in_size: tuple[int, ...]) -> str:
    if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)) and len(in_size) == 3:
        if m.padding == "same":
            return "padding='same' keeps H×W"
        k, s, d = _pair(m.kernel_size), _pair(m.stride or m.kernel_size), _pair(getattr(m, "dilation", 1))
        p, ceil = _pair(0 if m.padding == "valid" else m.padding), getattr(m, "ceil_mode", False)
        sides = [_side(in_size[i + 1], k[i], p[i], s[i], d[i], ceil) for i in range(2)]
        if sides[0] == sides[1]:
            return f"{sides[0][0]} = {sides[0][1]}"
        return "; ".join(f"{ax}: {text} = {val}" for ax, (text, val) in zip("HW", sides))
    if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)) and len(in_size) == 3:
        out = [o or n for o, n in zip(_pair(m.output_size), in_size[1:])]
        return f"fixed by the layer: {out[0]}×{out[1]} whatever the input ({in_size[1]}×{in_size[2]} here)"
    if isinstance(m, nn.Flatten) and len(in_size) > 1:
        return f"{'·'.join(map(str, in_size))} = {math.prod(in_size):,}"
    if isinstance(m, nn.Linear):
        return f"one output per neuron: {m.out_features}"
    return "same as input"


def _details(m: nn.Module, parent: nn.Module | None) -> str:
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
        k, s, p = _pair(m.kernel_size), _pair(m.stride or m.kernel_size), _pair(m.padding)
        return f"{k[0]}×{k[1]}, stride {s[0]}" + (f", pad {p[0]}" if p[0] else "")
    if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        return f"output {'×'.join(str(o) for o in _pair(m.output_size))}"
    if isinstance(m, nn.modules.dropout._DropoutNd):
        return f"p = {m.p}"
    return ""


def _mult_adds(m: nn.Module, out: tuple[int, ...]) -> int:
    """Multiply-adds per image of the conv and linear layers, which dominate the cost."""
    if isinstance(m, nn.Conv2d) and len(out) == 3:
        return m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups) * math.prod(out)
    if isinstance(m, nn.Linear):
        return m.in_features * m.out_features
    return 0


def _fmt(size) -> str:
    return "×".join(str(d) for d in size)


def layer_table(model: nn.Module, input_shape) -> list[dict]:
    """One dict per layer call: the summary's columns plus details, formulas and multiply-adds."""
    try:
        summary = summarize(model, tuple(input_shape))
    except RuntimeError as e:  # shapes that do not fit: say so instead of a traceback
        raise ModelError(f"This model cannot run on a {_fmt(input_shape)} input: {e}") from e
    modules = dict(model.named_modules())
    modules["(model)"] = model
    table = []
    for row in summary.rows:
        m = modules[row.name]
        parent = modules.get(row.name.rpartition(".")[0]) if "." in row.name else model
        formula = _param_formula(m)
        if row.params == 0 and not formula.startswith(NONE):
            formula = f"{NONE} (same weights as its first call above)"
        table.append({"layer": row.name, "type": row.type, "details": _details(m, parent),
                      "input size": _fmt(row.input_size), "output size": _fmt(row.output_size),
                      "size formula": _size_formula(m, row.input_size), "params": row.params,
                      "formula": formula, "trainable": row.trainable,
                      "mult-adds": _mult_adds(m, row.output_size)})
    return table


def totals(rows: list[dict]) -> dict[str, int]:
    return {k: sum(r[k] for r in rows) for k in ("params", "trainable", "mult-adds")}


# ------------------------------------------------------------------------------------- options
# The options that shape the layer table; weights, freezing and resizing are the Train page's business.
# Their kinds, labels and ranges are nets.engine.options'; their defaults, each model's signature.
TABLE_OPTIONS = ("hidden", "channels", "fc", "activation", "dropout", "batch_norm", "small_stem")


def widget_defaults(name: str) -> dict:
    """The table options `name` takes, each default as its widget holds it ('256,128', 'auto')."""
    return {opt: OPTIONS[opt].shown(default) for opt, default in model_defaults(name).items()
            if opt in TABLE_OPTIONS}


def parse_options(name: str, raw: dict) -> dict:
    """Widget values → build_model options. An unknown model is a ModelError; sizes that cannot be
    read, or are too large for this page, a nets.parse.ParseError that says why."""
    model_defaults(name)
    return {opt: OPTIONS[opt].read(v, hi=MAX_WIDTH, max_items=MAX_LAYERS) for opt, v in raw.items()}


def table_for(name: str, input_shape, options: dict, *, num_classes: int) -> list[dict]:
    return layer_table(build_model(name, input_shape, num_classes, **options), input_shape)


# ------------------------------------------------------------------------------------- compare
@dataclass
class ModelFacts:
    label: str
    total_params: int
    largest_layer: str
    mult_adds: int


@dataclass
class Comparison:
    mlp: ModelFacts
    cnn: ModelFacts
    why: str       # why the parameter counts differ
    compute: str   # what the multiply-adds say


def _facts(label: str, rows: list[dict]) -> ModelFacts:
    big, t = max(rows, key=lambda r: r["params"]), totals(rows)
    largest = f"{big['layer']} ({big['type']} {big['details']}): {big['params']:,}"
    return ModelFacts(label, t["params"], largest, t["mult-adds"])


def _times(a: int, b: int) -> str:
    return f"{a / b:.0f}×" if a >= 10 * b else f"{a / b:.1f}×"


def compare(dataset_shape, mlp_options: dict | None = None, cnn_options: dict | None = None,
            cnn: str = "lenet", *, num_classes: int) -> Comparison:
    """An MLP and a CNN on the same input, side by side (e.g. mlp 784-128-10 vs lenet on MNIST)."""
    mlp_options, cnn_options = dict(mlp_options or {}), dict(cnn_options or {})
    hidden = tuple(mlp_options.get("hidden", model_defaults("mlp")["hidden"]))
    mlp_label = "mlp " + "-".join(map(str, [math.prod(dataset_shape), *hidden, num_classes]))
    m = _facts(mlp_label, table_for("mlp", dataset_shape, {**mlp_options, "hidden": hidden}, num_classes=num_classes))
    c = _facts(cnn, table_for(cnn, dataset_shape, cnn_options, num_classes=num_classes))
    if c.total_params < m.total_params:
        why = (f"{cnn} needs {_times(m.total_params, c.total_params)} fewer parameters: each filter sees "
               "only a small patch (local connectivity) and is reused at every position (weight "
               "sharing), while every MLP neuron has its own weight for every pixel.")
    else:
        why = (f"Here {cnn} has more parameters than the MLP; its largest layer is {c.largest_layer}. Each "
               "filter is small thanks to weight sharing and local connectivity, but many wide layers add up.")
    if c.mult_adds > m.mult_adds:
        compute = (f"But {cnn} does {_times(c.mult_adds, m.mult_adds)} more multiply-adds per image: "
                   "it applies every filter at every position.")
    else:
        compute = f"{cnn} does fewer multiply-adds per image than the MLP, too."
    return Comparison(m, c, why, compute)


def comparison_for(name: str, input_shape, options: dict, *, num_classes: int) -> Comparison:
    """The chosen model against its counterpart: an MLP against LeNet, a CNN against the default MLP."""
    if name == "mlp":
        return compare(input_shape, options, {}, "lenet", num_classes=num_classes)
    return compare(input_shape, {}, options, name, num_classes=num_classes)


# ---------------------------------------------------------------------------------------- quiz
@dataclass(frozen=True)
class Question:
    layer: str
    kind: str              # "params" or "output"
    prompt: str
    answer: int | tuple[int, ...]
    formula: str           # the worked computation shown on a wrong answer or a reveal
    bias_count: int = 0    # forgetting the biases gives answer − bias_count

    @property
    def answer_text(self) -> str:
        return f"{self.answer:,}" if self.kind == "params" else _fmt(self.answer)


def _why_size(row: dict) -> str:
    out, f = row["output size"], row["size formula"]
    if row["type"] == "Conv2d":
        return f"Each side: {f}; one channel per filter, {out.split('×')[0]} filters → {out}."
    if "Pool" in row["type"]:
        return f"Pooling keeps the channels; each side: {f} → {out}."
    if row["type"] == "Flatten":
        return f"Flatten lines up every value: {f}."
    return f"{f} → {out}."


def make_question(rows: list[dict], rng) -> Question:
    """A random layer's parameter count or output size; `rng` is a random.Random."""
    choices = [(r, "params") for r in rows if r["params"] and not r["formula"].startswith(NONE)]
    choices += [(r, "output") for r in rows if r["input size"] and r["size formula"] != "same as input"]
    if not choices:
        raise ValueError("This model has no layer to ask about.")
    row, kind = rng.choice(choices)
    what = f"{row['type']} {row['details']}" if row["details"] else row["type"]  # no 'Flatten )'
    layer = f"Layer **{row['layer']}** ({what}) receives a {row['input size']} input."
    if kind == "params":
        bias = int(row["output size"].split("×")[0]) if "+1)" in row["formula"] else 0
        return Question(row["layer"], kind, f"{layer} How many parameters does it have?",
                        row["params"], row["formula"], bias)
    size = tuple(int(d) for d in row["output size"].split("×"))
    return Question(row["layer"], kind, f"{layer} What is its output size?", size, _why_size(row))


def _parse_count(text: str) -> int | None:
    t = re.sub(r"\s+", "", text.lower())
    t = re.sub(r"(parameters?|params?|weights?)\.?$", "", t).replace(",", "").replace("_", "")
    return int(t) if t.isdigit() else None


def _parse_size(text: str, dims: int) -> tuple[int, ...] | None:
    t = text.strip()
    if dims == 1 and re.fullmatch(r"\d{1,3}(,\d{3})+", t):  # "1,600" is a thousand separator here
        return (int(t.replace(",", "")),)
    t = t.strip("()[] \t").rstrip(", ")
    parts = re.split(r"\s*[×xX*,]\s*|\s+", t)
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else None


def check_answer(question: Question, text: str) -> tuple[bool, str]:
    """Accepts '260', '260 params', '10×24×24', '10x24x24', '(10, 24, 24)'."""
    if question.kind == "params":
        given = _parse_count(text)
        if given is None:
            return False, f"I could not read '{text.strip()}' as a parameter count: type a number, like 1234."
        if given == question.answer:
            return True, f"Correct: {question.formula}."
        hint = " You left out the biases: one per output." \
            if question.bias_count and given == question.answer - question.bias_count else ""
        return False, f"Not quite: you said {given:,}. It has {question.formula}.{hint}"
    given = _parse_size(text, len(question.answer))
    if given is None:
        return False, f"I could not read '{text.strip()}' as a size: type C×H×W like 8×16×16, or a number."
    if given == question.answer:
        return True, f"Correct: {question.answer_text}. {question.formula}"
    return False, f"Not quite: you said {_fmt(given)}. {question.formula}"
