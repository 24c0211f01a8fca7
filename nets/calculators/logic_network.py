"""Boolean expressions (nets.calculators.boolean_expression) as one-hidden-layer threshold networks.

A threshold unit outputs step(z) = 1 if z > 0 else 0. Every network here has one hidden layer of
such units, each detecting one case (an AND of literals), and an output unit that ORs them:
y = step(Σ_k h_k − 0.5). Biases sit half-way between "fires" and "does not", so z is never 0.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nets.calculators.boolean_expression import Expression, parse


# ---------------------------------------------------------------------------------------- networks
@dataclass(frozen=True)
class ThresholdNetwork:
    name: str
    variables: tuple[str, ...]
    W: np.ndarray                  # (hidden, inputs)
    b: np.ndarray                  # (hidden,)
    cases: tuple[str, ...]         # what each hidden unit detects, in symbols
    c: float = -0.5                # output bias; every output weight is 1, so the output is an OR

    @property
    def label(self) -> str:
        """'one unit per DNF term: 3 hidden units', for a choice of networks."""
        return f"{self.name}: {len(self.b)} hidden unit{'s' * (len(self.b) != 1)}"

    def hidden(self, X) -> np.ndarray:
        return (np.asarray(X, float) @ self.W.T + self.b > 0).astype(int)

    def output(self, X) -> np.ndarray:
        return (self.hidden(X).sum(axis=1) + self.c > 0).astype(int)


def _term_unit(term: dict[int, int], n: int) -> tuple[np.ndarray, float]:
    """An AND of literals: +1 for a variable that must be 1, −1 for one that must be 0, and a
    bias so that z = 0.5 exactly when all hold and at most −0.5 otherwise."""
    w = np.zeros(n)
    for i, value in term.items():
        w[i] = 1.0 if value else -1.0
    return w, -(sum(term.values()) - 0.5)


def _term_text(term: dict[int, int], names) -> str:
    return " ∧ ".join(("" if v else "¬") + names[i] for i, v in sorted(term.items())) or "always"


def _network(name: str, expr: Expression, terms: list[dict[int, int]]) -> ThresholdNetwork:
    n = len(expr.variables)
    units = [_term_unit(t, n) for t in terms]
    W = np.array([w for w, _ in units]).reshape(len(units), n)
    return ThresholdNetwork(name, expr.variables, W, np.array([b for _, b in units]),
                            tuple(_term_text(t, expr.variables) for t in terms))


def threshold_network(expr: Expression) -> ThresholdNetwork:
    """One hidden unit per true row of the truth table (its minterm)."""
    terms = [dict(enumerate(r)) for r in expr.rows() if expr(r)]
    return _network("one unit per true row", expr, terms)


def prime_implicants(expr: Expression) -> list[dict[int, int]]:
    """Quine–McCluskey: merge terms that differ in one variable until nothing merges."""
    n = len(expr.variables)
    level = {tuple(r) for r in expr.rows() if expr(r)}   # a term: a tuple of 0, 1 or None (either)
    primes = set()
    while level:
        merged, used = set(), set()
        for a, b in itertools.combinations(level, 2):
            diff = [i for i in range(n) if a[i] != b[i]]
            if len(diff) == 1 and None not in (a[diff[0]], b[diff[0]]):
                merged.add(a[:diff[0]] + (None,) + a[diff[0] + 1:])
                used |= {a, b}
        primes |= level - used
        level = merged
    return [{i: v for i, v in enumerate(t) if v is not None} for t in sorted(primes, key=str)]


def _covers(term: dict[int, int], row) -> bool:
    return all(row[i] == v for i, v in term.items())


def dnf_terms(expr: Expression) -> list[dict[int, int]]:
    """A short sum of products: the essential prime implicants, then greedily the prime that
    covers most of what is left (small, not always the smallest possible)."""
    primes = prime_implicants(expr)
    left = [r for r in expr.rows() if expr(r)]
    chosen = [p for p in primes
              if any(sum(_covers(q, r) for q in primes) == 1 and _covers(p, r) for r in left)]
    left = [r for r in left if not any(_covers(p, r) for p in chosen)]
    while left:
        best = max(primes, key=lambda p: (sum(_covers(p, r) for r in left), -len(p)))
        chosen.append(best)
        left = [r for r in left if not _covers(best, r)]
    return sorted(chosen, key=lambda t: sorted(t.items()))


def compact_network(expr: Expression) -> ThresholdNetwork:
    return _network("one unit per DNF term", expr, dnf_terms(expr))


COURSEWORK_TEXT, HAND_NAME = "(P ∨ Q) ⊕ (¬R ∨ ¬S)", "hand-derived (coursework)"
COURSEWORK_EXPANSION = (   # (formula, why) pairs
    (r"y = (P \lor Q) \oplus (\lnot R \lor \lnot S)", "the coursework's expression"),
    ((r"= \big[(P \lor Q) \land \lnot(\lnot R \lor \lnot S)\big] \lor "
      r"\big[\lnot(P \lor Q) \land (\lnot R \lor \lnot S)\big]"),
     r"$a \oplus b = (a \land \lnot b) \lor (\lnot a \land b)$"),
    (r"= \big[(P \lor Q) \land R \land S\big] \lor \big[\lnot P \land \lnot Q \land (\lnot R \lor \lnot S)\big]",
     r"De Morgan: $\lnot(\lnot R \lor \lnot S) = R \land S$, $\lnot(P \lor Q) = \lnot P \land \lnot Q$"),
    (r"h_1 = \mathrm{step}(P + Q + 2R + 2S - 4.5)",
     "R and S weigh 2 each, so both are needed (4 < 4.5), and then P or Q tips it over"),
    (r"h_2 = \mathrm{step}(-2P - 2Q - R - S + 1.5)",
     "P or Q alone costs 2 (too much); R and S together cost 2 (too much); one of them costs 1 (fine)"),
    (r"y = \mathrm{step}(h_1 + h_2 - 0.5)", "y is true when either bracket is"),
)


def hand_network(expr: Expression) -> ThresholdNetwork | None:
    """The coursework's two-unit network, when `expr` is that function of P, Q, R, S."""
    if sorted(expr.variables) != ["P", "Q", "R", "S"]:
        return None
    target = parse(COURSEWORK_TEXT)
    order = [target.variables.index(v) for v in expr.variables]
    if any(expr(r) != target(tuple(r[order.index(k)] for k in range(4))) for r in expr.rows()):
        return None
    rows = {"P": (1, -2), "Q": (1, -2), "R": (2, -1), "S": (2, -1)}
    W = np.array([[rows[v][u] for v in expr.variables] for u in range(2)], float)
    return ThresholdNetwork(HAND_NAME, expr.variables, W, np.array([-4.5, 1.5]),
                            ("(P ∨ Q) ∧ R ∧ S", "¬P ∧ ¬Q ∧ (¬R ∨ ¬S)"))


def networks(expr: Expression) -> list[ThresholdNetwork]:
    """The smallest first: the hand-derived one if it applies, the DNF one, one per true row."""
    hand, compact, full = hand_network(expr), compact_network(expr), threshold_network(expr)
    return ([hand] if hand else []) + [compact] + ([full] if full.cases != compact.cases else [])


# ---------------------------------------------------------------------------------------- checks
@dataclass(frozen=True)
class Verification:
    table: pd.DataFrame
    all_agree: bool
    n_rows: int

    @property
    def bad_rows(self) -> list[int]:
        return np.flatnonzero(self.table["agree"] != "✓").tolist()


def verify(net: ThresholdNetwork, expr: Expression) -> Verification:
    rows = np.array(expr.rows())
    H, y = net.hidden(rows), net.output(rows)
    want = np.array([expr(r) for r in rows])
    table = pd.DataFrame(rows, columns=list(expr.variables))
    for k in range(H.shape[1]):
        table[f"h{k + 1}"] = H[:, k]
    table["network y"], table["expression y"] = y, want
    table["agree"] = np.where(y == want, "✓", "✗")
    return Verification(table, bool(np.all(y == want)), len(rows))


def unit_table(net: ThresholdNetwork, expr: Expression) -> pd.DataFrame:
    """Each hidden unit's weights and bias, the case it detects and the rows where it fires."""
    rows = np.array(expr.rows())
    H = net.hidden(rows)
    table = pd.DataFrame(net.W, columns=[f"w·{v}" for v in net.variables],
                         index=[f"h{k + 1}" for k in range(len(net.b))])
    table["bias"] = net.b
    table["fires when"] = net.cases
    table["rows"] = [", ".join(str(i) for i in np.flatnonzero(H[:, k])) for k in range(H.shape[1])]
    return table


def case_latex(case: str) -> str:
    return case.replace("¬", r"\lnot ").replace("∧", r"\land").replace("∨", r"\lor")


def formula_latex(net: ThresholdNetwork, shown: int = 8) -> tuple[str, str]:
    """y as the OR of the hidden units' cases, one per line, and as the output unit's threshold."""
    if not len(net.b):
        return r"y = 0 \quad \text{(no row is true: no hidden unit)}", r"y = \mathrm{step}(-0.5) = 0"
    hs = [f"h_{{{i}}}" for i in range(1, len(net.b) + 1)]
    cases = [rf"{h} &= {case_latex(c)}" for h, c in zip(hs, net.cases)]
    if len(hs) > shown:   # 64 minterms do not fit on a page
        hs, cases = hs[:shown - 1] + [r"\dots", hs[-1]], cases[:shown - 1] + [r"&\;\vdots", cases[-1]]
    ors, bias = r" \lor ".join(hs), f"{net.c:+g}".replace("+", "+ ").replace("-", "- ")
    return (r"\begin{aligned}" + r" \\ ".join(cases) + r"\end{aligned}",
            rf"y = {ors} = \mathrm{{step}}\big({' + '.join(hs)} {bias}\big)")


def _g(v: float) -> str:
    return f"{v:g}".replace("-", "−")


def dot(net: ThresholdNetwork) -> str:
    """Graphviz DOT: inputs, hidden units labelled with their bias and case, the output unit;
    positive weights solid blue, negative dashed red, zero weights left out."""
    lines = ["digraph {", "rankdir=LR;", 'node [fontname="Helvetica"];',
             'edge [fontname="Helvetica", fontsize=10];']
    lines += [f'"in_{v}" [label="{v}", shape=circle];' for v in net.variables]
    # Keep the inputs top to bottom in the expression's order (dot reorders them to shorten edges).
    order = " -> ".join(f'"in_{v}"' for v in net.variables)
    lines.append(f"{{rank=same; {order} [style=invis];}}" if len(net.variables) > 1 else "")
    for k, (case, b) in enumerate(zip(net.cases, net.b), 1):
        lines.append(f'"h{k}" [label="h{k}\\n{case}\\nb = {_g(b)}", shape=box, style=rounded];')
    lines.append(f'"y" [label="y\\nb = {_g(net.c)}", shape=doublecircle];')
    for k, w in enumerate(net.W, 1):
        for v, wi in zip(net.variables, w):
            if wi:
                style = "color=blue" if wi > 0 else 'color=red, style=dashed'
                lines.append(f'"in_{v}" -> "h{k}" [label="{_g(wi)}", {style}];')
    lines += [f'"h{k}" -> "y" [label="1", color=blue];' for k in range(1, len(net.b) + 1)]
    return "\n".join(lines + ["}"])
