"""Anatomy of a network: where each parameter and each output size comes from, in lecture notation.

Rows come from `nets.inspect.summary` (a real forward pass, or a meta-device one for a custom network); the
formulas (nets.inspect.layer_formulas) are rebuilt from each layer's hyper-parameters, so a test can check
that the arithmetic a student reads gives the real count.
Also: an MLP-vs-CNN comparison and a "predict, then reveal" quiz on the table's rows.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import torch
from torch import nn

from nets.engine.models import ModelError, build_model, model_defaults
from nets.engine.options import OPTIONS
from nets.inspect.layer_formulas import NONE, details, fmt, mult_adds, param_formula, size_formula
from nets.inspect.summary import summarize

# Caps keep a typo like "100000,100000" from allocating billions of weights on a shared server: the
# table comes from a real forward pass, so this page allows narrower, shallower models than training.
MAX_WIDTH, MAX_LAYERS = 4096, 8


def layer_table(model: nn.Module, input_shape, device: str | torch.device = "cpu") -> list[dict]:
    """One dict per layer call: the summary's columns plus details, formulas and multiply-adds. On the
    "meta" device (a model built under `torch.device("meta")`) it costs shapes only, no memory."""
    try:
        summary = summarize(model, tuple(input_shape), device=device)
    except RuntimeError as e:  # shapes that do not fit: say so instead of a traceback
        raise ModelError(f"This model cannot run on a {fmt(input_shape)} input: {e}") from e
    modules = dict(model.named_modules())
    modules["(model)"] = model
    table = []
    for row in summary.rows:
        m = modules[row.name]
        parent = modules.get(row.name.rpartition(".")[0]) if "." in row.name else model
        formula = param_formula(m)
        if row.params == 0 and not formula.startswith(NONE):
            formula = f"{NONE} (same weights as its first call above)"
        table.append({"layer": row.name, "type": row.type, "details": details(m, parent),
                      "input size": fmt(row.input_size), "output size": fmt(row.output_size),
                      "size formula": size_formula(m, row.input_size), "params": row.params,
                      "formula": formula, "trainable": row.trainable,
                      "mult-adds": mult_adds(m, row.output_size)})
    return table


def totals(rows: list[dict]) -> dict[str, int]:
    return {k: sum(r[k] for r in rows) for k in ("params", "trainable", "mult-adds")}


# ------------------------------------------------------------------------------------- options
# The options that shape the layer table; weights, freezing and resizing are the Train page's business.
# Their kinds, labels and ranges are nets.engine.options'; their defaults, each model's signature.
TABLE_OPTIONS = ("hidden", "channels", "fc", "activation", "dropout", "batch_norm", "small_stem", "layers")
META = ("custom",)  # traced on the meta device: a layer list may be any size (its own checks bound it)


def widget_defaults(name: str) -> dict:
    """The table options `name` takes, each default as its widget holds it ('256,128', 'auto')."""
    return {opt: OPTIONS[opt].shown(default) for opt, default in model_defaults(name).items()
            if opt in TABLE_OPTIONS}


def parse_options(name: str, raw: dict) -> dict:
    """Widget values → build_model options. An unknown model is a ModelError; sizes that cannot be
    read, or are too large for this page, a nets.parse.ParseError that says why."""
    model_defaults(name)
    # a custom network's layer list keeps its own limits (nets.engine.netspec), and is traced on the meta device
    return {opt: OPTIONS[opt].read(v) if opt == "layers" else OPTIONS[opt].read(v, hi=MAX_WIDTH, max_items=MAX_LAYERS)
            for opt, v in raw.items()}


def table_for(name: str, input_shape, options: dict, *, num_classes: int) -> list[dict]:
    if name in META:
        with torch.device("meta"):
            model = build_model(name, input_shape, num_classes, **options)
        return layer_table(model, input_shape, device="meta")
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
        return f"{self.answer:,}" if self.kind == "params" else fmt(self.answer)


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
    return False, f"Not quite: you said {fmt(given)}. {question.formula}"
