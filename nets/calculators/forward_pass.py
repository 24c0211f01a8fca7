"""Forward pass of a small fully connected network, every step in lecture notation.

Layer l computes z^(l) = W^(l) a^(l-1) + b^(l) and a^(l) = f(z^(l)), with a^(0) = x; the last
layer's f is the softmax. W^(l) has one row per unit of layer l and one column per input, so
W[j, i] is the weight from input i to unit j. Also: LaTeX with the numbers substituted and the
symbolic argument for a uniform softmax (the quiz is nets.calculators.forward_quiz).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from nets.formulas import sigmoid, softmax
from nets.parse import ParseError, float_list, number

# What a hidden layer of the calculator may use (the output layer is always the softmax).
ACTIVATION_CHOICES = ("sigmoid", "tanh", "relu", "linear")
SYMBOL = {"sigmoid": r"\sigma", "tanh": r"\tanh", "relu": r"\mathrm{ReLU}", "linear": r"\mathrm{id}"}


class ForwardError(ValueError):
    """Input the student can fix: a bad number, a wrong length, an impossible shape."""


@dataclass(frozen=True)
class Layer:
    W: np.ndarray        # (units, inputs)
    b: np.ndarray        # (units,)
    activation: str      # one of ACTIVATION_CHOICES, or "softmax" for the output layer


@dataclass(frozen=True)
class Architecture:
    n_inputs: int
    hidden: tuple[tuple[int, str], ...]   # (units, activation) per hidden layer
    n_classes: int

    def shapes(self) -> list[tuple[int, int, str]]:
        sizes = [self.n_inputs] + [u for u, _ in self.hidden] + [self.n_classes]
        acts = [a for _, a in self.hidden] + ["softmax"]
        return [(sizes[i + 1], sizes[i], acts[i]) for i in range(len(acts))]


COURSEWORK = Architecture(3, ((3, "sigmoid"), (3, "sigmoid")), 3)


def fits(net: list[Layer] | None, arch: Architecture) -> bool:
    return net is not None and [l.W.shape for l in net] == [(o, i) for o, i, _ in arch.shapes()]


def default_x(n: int) -> str:
    return "1, 2, 3" if n == 3 else ", ".join(str(i) for i in range(1, n + 1))


def constant_network(arch: Architecture, w: float = 1.0, b: float = 0.0) -> list[Layer]:
    return [Layer(np.full((o, i), float(w)), np.full(o, float(b)), act) for o, i, act in arch.shapes()]


def random_network(arch: Architecture, seed: int) -> list[Layer]:
    """Weights in halves between -2 and 2, so the student can still follow the arithmetic by hand."""
    rng = np.random.default_rng(seed)
    return [Layer(rng.integers(-4, 5, (o, i)) / 2, rng.integers(-2, 3, o) / 2, act)
            for o, i, act in arch.shapes()]


def fill(net: list[Layer], w: float | None = None, b: float | None = None) -> list[Layer]:
    """The same network with every weight set to w and/or every bias to b (None keeps them)."""
    return [replace(layer, W=np.full_like(layer.W, w, dtype=float) if w is not None else layer.W,
                    b=np.full_like(layer.b, b, dtype=float) if b is not None else layer.b)
            for layer in net]


# ---------------------------------------------------------------------------------------- compute
def activate(z: np.ndarray, name: str) -> np.ndarray:
    if name == "sigmoid":
        return sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "linear":
        return z.astype(float)
    if name == "softmax":
        return softmax(z)
    raise ForwardError(f"Unknown activation '{name}': choose one of {', '.join(ACTIVATION_CHOICES)}.")


@dataclass(frozen=True)
class Step:
    a_in: np.ndarray
    z: np.ndarray
    a: np.ndarray


def forward(net: list[Layer], x) -> list[Step]:
    """One Step per layer; the last Step's `a` is the softmax output p."""
    a = np.asarray(x, dtype=float)
    steps = []
    for l, layer in enumerate(net, 1):
        if layer.W.shape[1] != a.shape[0]:
            what = "x has" if l == 1 else f"layer {l - 1} gives"
            raise ForwardError(f"Layer {l} expects {layer.W.shape[1]} inputs but {what} {a.shape[0]}.")
        z = layer.W @ a + layer.b
        steps.append(Step(a, z, activate(z, layer.activation)))
        a = steps[-1].a
    return steps


# ---------------------------------------------------------------------------------------- input
def parse_number(text) -> float:
    """A table cell or a typed answer: a number as it is, or text as nets.parse.number reads it
    ('0.95', '1/3', '−2'). An empty cell raises ForwardError("empty")."""
    if isinstance(text, (int, float, np.number)) and not isinstance(text, bool):
        if not np.isfinite(text):
            raise ForwardError("empty")
        return float(text)
    t = str(text or "").replace(" ", "")
    if not t:
        raise ForwardError("empty")
    try:
        return number(t)
    except ParseError:
        raise ForwardError(f"'{text}' is not a number") from None


def parse_vector(text: str, n: int) -> np.ndarray:
    """The typed x: exactly n numbers (nets.parse.float_list)."""
    try:
        return np.array(float_list(text, "x", n=n))
    except ParseError as e:
        raise ForwardError(str(e)) from None


def input_names(l: int, n: int) -> list[str]:
    return [f"x{i}" if l == 1 else f"a{i}" for i in range(1, n + 1)]


def layer_table(layer: Layer, l: int) -> pd.DataFrame:
    """One row per unit: its weights from each input, then its bias."""
    df = pd.DataFrame(layer.W, columns=input_names(l, layer.W.shape[1]),
                      index=[f"unit {j}" for j in range(1, layer.W.shape[0] + 1)])
    df["b"] = layer.b
    return df


def layer_from_table(df: pd.DataFrame, l: int, activation: str) -> Layer:
    values = np.empty(df.shape)
    for r, (unit, row) in enumerate(df.iterrows()):
        for c, (col, v) in enumerate(row.items()):
            try:
                values[r, c] = parse_number(v)
            except ForwardError as e:
                what = "is empty" if str(e) == "empty" else f"holds {e}"
                raise ForwardError(f"Layer {l}, {unit}, column {col} {what}: type a number.") from None
    return Layer(values[:, :-1], values[:, -1], activation)


def network_from_tables(tables: list[pd.DataFrame], arch: Architecture) -> list[Layer]:
    """The edited `layer_table`s back as layers; a bad cell raises ForwardError naming it."""
    return [layer_from_table(df, l, act) for l, (df, (_, _, act)) in enumerate(zip(tables, arch.shapes()), 1)]


def layer_name(l: int, layer_count: int, activation: str) -> str:
    """'layer 1 (sigmoid)', or 'output (softmax)' for the last one."""
    return "output (softmax)" if l == layer_count else f"layer {l} ({activation})"


# ---------------------------------------------------------------------------------------- LaTeX
def num(v: float) -> str:
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-4):
        mantissa, exp = f"{v:.3e}".split("e")
        return rf"{mantissa} \times 10^{{{int(exp)}}}"
    s = f"{v:.4f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def vector_text(v) -> str:
    """'(1, 0.5, -2)': a vector in running text."""
    return "(" + ", ".join(num(x) for x in v) + ")"


def bmatrix(m: np.ndarray) -> str:
    rows = np.atleast_2d(m).T if np.ndim(m) == 1 else m
    return r"\begin{bmatrix}" + r" \\ ".join(" & ".join(num(v) for v in r) for r in rows) + r"\end{bmatrix}"


def _in_sym(l: int) -> str:
    return "x" if l == 1 else f"a^{{({l - 1})}}"


def latex_linear(l: int, layer: Layer, step: Step) -> str:
    return (rf"z^{{({l})}} = W^{{({l})}} {_in_sym(l)} + b^{{({l})}} = {bmatrix(layer.W)}"
            rf"{bmatrix(step.a_in)} + {bmatrix(layer.b)} = {bmatrix(step.z)}")


def latex_units(l: int, layer: Layer, step: Step) -> str:
    """Each unit's dot product written out: z_j = W_j1·a_1 + ... + b_j."""
    lines = []
    for j, (w, b, z) in enumerate(zip(layer.W, layer.b, step.z), 1):
        terms = " + ".join(rf"{_paren(wi)} \cdot {_paren(ai)}" for wi, ai in zip(w, step.a_in))
        lines.append(rf"z^{{({l})}}_{j} &= {terms} + {_paren(b)} = {num(z)}")
    return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"


def _paren(v: float) -> str:
    return f"({num(v)})" if v < 0 else num(v)


def _unit_activation(name: str, z: float) -> str:
    zs = num(z)
    if name == "sigmoid":
        return rf"\sigma({zs}) = \frac{{1}}{{1 + e^{{{num(-z)}}}}}"
    if name == "tanh":
        return rf"\tanh({zs}) = \frac{{e^{{{zs}}} - e^{{{num(-z)}}}}}{{e^{{{zs}}} + e^{{{num(-z)}}}}}"
    if name == "relu":
        return rf"\max(0, {zs})"
    return zs


def latex_activation(l: int, layer: Layer, step: Step) -> str:
    f = SYMBOL[layer.activation]
    lines = [rf"a^{{({l})}} &= {f}(z^{{({l})}}) = {bmatrix(step.a)}"]
    lines += [rf"a^{{({l})}}_{j} &= {_unit_activation(layer.activation, z)} = {num(a)}"
              for j, (z, a) in enumerate(zip(step.z, step.a), 1)]
    return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"


def latex_softmax(step: Step) -> str:
    z, m = step.z, float(np.max(step.z))
    e = np.exp(z - m)
    exps = " + ".join(rf"e^{{{num(v - m)}}}" for v in z)
    lines = [(r"p_k &= \frac{e^{z_k}}{\sum_j e^{z_j}} = \frac{e^{z_k - m}}{\sum_j e^{z_j - m}},"
              rf"\quad m = \max_j z_j = {num(m)}"),
             rf"\textstyle\sum_j e^{{z_j - m}} &= {exps} = {num(e.sum())}",
             rf"p &= \frac{{1}}{{{num(e.sum())}}} {bmatrix(e)} = {bmatrix(step.a)}"]
    return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"


def step_table(step: Step, softmax_layer: bool) -> pd.DataFrame:
    return pd.DataFrame({"z": step.z, "p" if softmax_layer else "a": step.a},
                        index=[f"{'class' if softmax_layer else 'unit'} {j}" for j in range(1, len(step.z) + 1)])


# ---------------------------------------------------------------------------------------- symbolic
@dataclass(frozen=True)
class UniformArgument:
    first_layer: int             # the first layer whose units all compute the same number
    lines: tuple[str, ...]       # Markdown, with $...$ LaTeX
    value: str                   # "1/3"


def _same(v: np.ndarray) -> bool:
    return bool(np.all(np.isclose(v, v.flat[0], rtol=0, atol=1e-12)))


def _linear_form(w, b: float, syms: list[str]) -> str:
    terms = []
    for wi, sym in zip(w, syms):
        coef = "" if wi == 1 else "-" if wi == -1 else rf"{num(wi)}\,"
        if wi != 0:
            terms.append(f"{coef}{sym}")
    if b != 0 or not terms:
        terms.append(num(b))
    return " + ".join(terms).replace("+ -", "- ")


def symbolic_uniform_explanation(net: list[Layer]) -> UniformArgument | None:
    """Why the softmax is uniform whatever x, or None when it is not forced to be.

    Once a layer has identical rows and identical biases, its units all output one number s. A
    later layer then gets s·(1, ..., 1), so unit j computes (row sum of W_j)·s + b_j: still one
    number if every row sums to the same r and the biases are equal. The softmax of equal numbers
    is 1/K each."""
    k = next((l for l, layer in enumerate(net)
              if np.allclose(layer.W, layer.W[0], rtol=0, atol=1e-12) and _same(layer.b)), None)
    if k is None or not all(_same(layer.W.sum(axis=1)) and _same(layer.b) for layer in net[k + 1:]):
        return None
    K, last = net[-1].W.shape[0], len(net)
    layer = net[k]
    syms = [f"{_in_sym(k + 1)}_{i}" for i in range(1, layer.W.shape[1] + 1)]
    form = _linear_form(layer.W[0], float(layer.b[0]), syms)
    units = f"j = 1, \\dots, {layer.W.shape[0]}"
    lines = [(f"Every row of $W^{{({k + 1})}}$ is the same and every bias is ${num(layer.b[0])}$, so all "
              f"units of layer {k + 1} compute one number, whatever they receive: "
              f"$z^{{({k + 1})}}_j = {form}$ for ${units}$.")]
    if k > 0:
        lines[0] += " What the layers before it do makes no difference."
    prev = f"s_{k + 1}"
    if k + 1 < last:
        lines.append(f"So $a^{{({k + 1})}}_j = {SYMBOL[layer.activation]}({form}) = {prev}$ for every $j$: "
                     "the units are copies of each other.")
    for l in range(k + 2, last + 1):
        layer = net[l - 1]
        r, b = float(layer.W[0].sum()), float(layer.b[0])
        z = _linear_form([r], b, [prev])
        where = f"Layer {l} receives ${prev}$ on every input, every row of $W^{{({l})}}$ sums to ${num(r)}$ " \
                f"and every bias is ${num(b)}$, so $z^{{({l})}}_j = {z}$ for every $j$"
        if l < last:
            prev = f"s_{l}"
            lines.append(f"{where}, and $a^{{({l})}}_j = {SYMBOL[layer.activation]}({z}) = {prev}$.")
        else:
            lines.append(where + ".")
    lines.append(f"All {K} outputs get the same $z$, so $p_k = \\dfrac{{e^{{z}}}}{{{K}\\,e^{{z}}}} = "
                 f"\\dfrac{{1}}{{{K}}}$ for every class, whatever $x$ is.")
    return UniformArgument(k + 1, tuple(lines), f"1/{K}")
