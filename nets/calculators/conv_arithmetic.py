"""Convolution arithmetic in lecture notation, every step with the student's numbers.

W_out = (W − K + 2P)/S + 1, parameters (K·K·C_in + 1)·C_out, multiply-adds H_out·W_out·K·K·C_in·C_out.
Frameworks floor a fractional output size and silently drop the last rows; here the formula must
come out whole, so a fraction is an error that shows the exact value. LaTeX is built here so a test
can read what the student will read. One layer at a time; chains of layers are nets.calculators.conv_chain.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from fractions import Fraction

SAME = "same"
POOL_KINDS = ("max pool", "avg pool")
LAYER_KINDS = ("conv",) + POOL_KINDS


class ConvError(ValueError):
    """A layer that cannot be computed; the message is written for the student."""


def _n(x: int) -> str:
    """An integer with thousands separators that LaTeX does not space out."""
    return f"{x:,}".replace(",", "{,}")


def _decimal(v: Fraction) -> str:
    f = float(v)
    return f"{f:g}" if Fraction(f) == v else f"{f:.3f}…"


def human(n: float) -> str:
    """'120.4 million': how the coursework quotes multiply-adds."""
    for size, word in ((1e9, "billion"), (1e6, "million"), (1e3, "thousand")):
        if abs(n) >= size:
            return f"{n / size:.1f} {word}"
    return f"{n:g}"


# The smallest each number may be (only a padding may be 0), and the one-layer form's starting
# values: the worked example's 5×5 convolution (Inception's, 'same' padding written out).
LOWEST = {"H": 1, "W": 1, "K": 1, "P": 0, "S": 1, "C": 1, "C_in": 1, "C_out": 1}
WORKED_LAYER = {"W": 28, "K": 5, "P": 2, "S": 1, "C_in": 192, "C_out": 32}


def whole_number(name: str, v) -> int:
    """v as an int, or a ConvError when it is not whole or below LOWEST[name]."""
    # numbers.Real also admits numpy's scalars, which a data editor's rows hold
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not float(v).is_integer():
        raise ConvError(f"{name} must be a whole number, not {v!r}.")
    if v < LOWEST[name]:
        raise ConvError(f"{name} must be at least {LOWEST[name]}, not {int(v)}.")
    return int(v)


def same_padding(K: int, S: int = 1) -> int:
    """P that keeps W_out = W: (K − 1)/2, which needs stride 1 and an odd kernel."""
    K, S = whole_number("K", K), whole_number("S", S)
    if S != 1:
        raise ConvError(f"'same' padding keeps the size only with stride 1, not S = {S}: type a number for P.")
    if K % 2 == 0:
        raise ConvError(f"'same' padding needs an odd kernel: P = (K − 1)/2 = {K - 1}/2 is not whole for K = {K}.")
    return (K - 1) // 2


def output_fraction(W: int, K: int, P: int, S: int) -> Fraction:
    """(W − K + 2P)/S + 1 exactly; raises when the kernel does not fit the padded input at all."""
    W, K, P, S = whole_number("W", W), whole_number("K", K), whole_number("P", P), whole_number("S", S)
    if K > W + 2 * P:
        raise ConvError(f"The {K}×{K} kernel does not fit: the padded input is W + 2P = {W} + 2·{P} = "
                        f"{W + 2 * P} wide, smaller than K = {K}.")
    return Fraction(W - K + 2 * P, S) + 1


def conv_output(W: int, K: int, P: int, S: int) -> int:
    """The output side; a fractional one raises with the exact value and what frameworks do."""
    v = output_fraction(W, K, P, S)
    if v.denominator != 1:
        raise ConvError(
            f"Not a whole number: ({W} − {K} + 2·{P})/{S} + 1 = {_decimal(v)}. The kernel's steps do not "
            f"end at the edge: change P or S. (PyTorch would floor it to {math.floor(v)}, and the last "
            f"{(W - K + 2 * P) % S} padded pixel(s) of each row and column would never be seen.)")
    return int(v)


def output_latex(W: int, K: int, P: int, S: int, side: str = "W") -> str:
    """`side` names the dimension: the lecture writes W, and the height follows the same formula."""
    v = output_fraction(W, K, P, S)
    top = W - K + 2 * P
    exact = _decimal(v).replace("…", r"\ldots")
    end = rf"= {exact}\quad\text{{not a whole number}}" if v.denominator != 1 else f"= {int(v)}"
    return (rf"{side}_{{out}} = \frac{{{side} - K + 2P}}{{S}} + 1 = \frac{{{W} - {K} + 2\cdot {P}}}{{{S}}} + 1"
            rf" = \frac{{{top}}}{{{S}}} + 1 {end}")


def conv_params(K: int, C_in: int, C_out: int, bias: bool = True) -> int:
    return (K * K * C_in + bias) * C_out


def params_latex(K: int, C_in: int, C_out: int, bias: bool = True) -> str:
    total = _n(conv_params(K, C_in, C_out, bias))
    if not bias:
        return rf"K\cdot K\cdot C_{{in}}\cdot C_{{out}} = {K}\cdot {K}\cdot {C_in}\cdot {C_out} = {total}"
    return (rf"(K\cdot K\cdot C_{{in}} + 1)\cdot C_{{out}} = ({K}\cdot {K}\cdot {C_in} + 1)\cdot {C_out}"
            rf" = {_n(K * K * C_in + 1)}\cdot {C_out} = {total}")


def mult_adds(H_out: int, W_out: int, K: int, C_in: int, C_out: int) -> int:
    """One multiply-add per weight per output position (biases are adds only, left out)."""
    return H_out * W_out * K * K * C_in * C_out


def mult_adds_latex(H_out: int, W_out: int, K: int, C_in: int, C_out: int) -> str:
    return (rf"H_{{out}}\cdot W_{{out}}\cdot K\cdot K\cdot C_{{in}}\cdot C_{{out}} = "
            rf"{H_out}\cdot {W_out}\cdot {K}\cdot {K}\cdot {C_in}\cdot {C_out} = "
            rf"{_n(mult_adds(H_out, W_out, K, C_in, C_out))}")


# ------------------------------------------------------------------------------- layers and chains
@dataclass(frozen=True)
class Conv:
    K: int
    C_out: int
    S: int = 1
    P: int | str = 0  # a number or SAME
    bias: bool = True

    @property
    def label(self) -> str:
        pad = "same" if self.P == SAME else f"P={self.P}"
        return f"conv {self.K}×{self.K}, {self.C_out} filters, S={self.S}, {pad}"


@dataclass(frozen=True)
class Pool:
    K: int
    S: int | None = None  # None: stride = K, the usual non-overlapping pool
    P: int = 0
    kind: str = "max pool"

    @property
    def label(self) -> str:
        return f"{self.kind} {self.K}×{self.K}, S={self.S or self.K}" + (f", P={self.P}" if self.P else "")


@dataclass(frozen=True)
class Step:
    label: str
    shape_in: tuple[int, int, int]   # H×W×C, the lecture's order
    shape_out: tuple[int, int, int]
    params: int
    mult_adds: int
    latex: tuple[str, ...]           # each computation with the numbers

    @property
    def short_latex(self) -> tuple[str, ...]:
        """The parameter and multiply-add lines without the symbolic formula, for narrow columns."""
        names = (r"\text{params}", r"\text{mult-adds}")
        return tuple(f"{name} = {tex.split(' = ', 1)[1]}" for name, tex in zip(names, self.latex[-2:]))


def fmt_shape(shape) -> str:
    return "×".join(str(d) for d in shape)


def layer_step(shape: tuple[int, int, int], layer: Conv | Pool) -> Step:
    H, W, C = shape
    P = same_padding(layer.K, layer.S) if layer.P == SAME else layer.P
    S = layer.S or layer.K
    sides = [conv_output(n, layer.K, P, S) for n in (H, W)]
    size_tex = [output_latex(W, layer.K, P, S)]
    if H != W:  # the lecture's W formula, applied to the height too
        size_tex.insert(0, output_latex(H, layer.K, P, S, side="H"))
    if isinstance(layer, Pool):
        return Step(layer.label, shape, (*sides, C), 0, 0,
                    (*size_tex, rf"\text{{pooling keeps the }}{C}\text{{ channels and has no weights}}"))
    C, C_out = whole_number("C_in", C), whole_number("C_out", layer.C_out)
    return Step(layer.label, shape, (*sides, C_out), conv_params(layer.K, C, C_out, layer.bias),
                mult_adds(*sides, layer.K, C, C_out),
                (*size_tex, params_latex(layer.K, C, C_out, layer.bias), mult_adds_latex(*sides, layer.K, C, C_out)))


@dataclass(frozen=True)
class Single:
    step: Step | None
    error: str | None
    size_latex: str | None  # shown even when the size is fractional, so the student sees why


def single_layer(W, K, P, S, C_in, C_out, bias: bool = True, same: bool = False) -> Single:
    """The one-layer calculator: a square W×W×C_in input; `same` sets P = (K − 1)/2."""
    size_tex = None
    try:
        P = same_padding(K, S) if same else P
        size_tex = output_latex(W, K, P, S)
        return Single(layer_step((W, W, C_in), Conv(K, C_out, S, P, bias)), None, size_tex)
    except ConvError as e:
        return Single(None, str(e), size_tex)
