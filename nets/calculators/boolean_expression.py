"""Boolean expressions: the parser, evaluation, the truth table and LaTeX.

Syntax: variables are identifiers (P, Q, x1, ...), at most MAX_VARS of them; constants 0 and 1;
parentheses; and, from tightest to loosest binding:
    not  ¬ ~ !        and  ∧ & &&        xor  ⊕ ^        or  ∨ | ||
so "¬P ∧ Q ⊕ R ∨ S" means (((¬P) ∧ Q) ⊕ R) ∨ S. Binary operators group left to right. Keywords
are case-insensitive; variable names are not. A text longer than MAX_CHARS, nested deeper than
MAX_NESTING or with more than MAX_OPERATORS operators is refused before it is parsed, so no text
typed or pasted can exhaust the recursion of the parser, evaluate() or to_latex().
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import pandas as pd

MAX_VARS = 6
MAX_CHARS = 300       # the coursework's expression has 29; six variables need far less than this
MAX_NESTING = 20      # parentheses inside parentheses
MAX_OPERATORS = 100   # and, or, xor and not together
NOT, AND, XOR, OR = "not", "and", "xor", "or"
SYMBOLS = {"¬": NOT, "~": NOT, "!": NOT, "∧": AND, "&&": AND, "&": AND, "⊕": XOR, "^": XOR,
           "∨": OR, "||": OR, "|": OR, "(": "(", ")": ")"}
KEYWORDS = {NOT, AND, XOR, OR}
LATEX_OP = {AND: r"\land", XOR: r"\oplus", OR: r"\lor"}
BINDING = {OR: 1, XOR: 2, AND: 3}   # higher binds tighter; "not" binds tightest of all
TOKEN = re.compile(r"\s*(?:(?P<sym>&&|\|\||[¬~!∧&⊕^∨|()])|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<const>[01])"
                   r"(?![0-9A-Za-z_])|(?P<bad>\S))")


class ExpressionError(ValueError):
    """Text that is not an expression; `caret` points at where it went wrong."""

    def __init__(self, text: str, position: int, problem: str):
        self.text, self.position, self.problem = text, position, problem
        super().__init__(f"{problem} (column {position + 1})")

    @property
    def caret(self) -> str:
        """The expression with a ^ under the offending character."""
        return f"{self.text}\n{' ' * self.position}^"


# A node is ("var", name) | ("const", 0 or 1) | ("not", node) | (op, left, right) for op in BINDING.
@dataclass(frozen=True)
class Expression:
    text: str
    tree: tuple
    variables: tuple[str, ...]    # in order of first appearance

    def __call__(self, values) -> int:
        return evaluate(self.tree, dict(zip(self.variables, values)))

    def rows(self) -> list[tuple[int, ...]]:
        """Every assignment, counting in binary with the first variable as the leading bit."""
        return list(itertools.product((0, 1), repeat=len(self.variables)))

    def latex(self) -> str:
        return to_latex(self.tree)


def tokenize(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, position) tokens, ending with ("end", "", len(text))."""
    tokens, pos = [], 0
    while (m := TOKEN.match(text, pos)) and m.end() > pos and m.lastgroup:
        word, start = m.group(m.lastgroup), m.start(m.lastgroup)
        if m.lastgroup == "bad":
            raise ExpressionError(text, start, f"Unexpected character '{word}'")
        if m.lastgroup == "sym":
            tokens.append((SYMBOLS[word], word, start))
        elif m.lastgroup == "name" and word.lower() in KEYWORDS:
            tokens.append((word.lower(), word, start))
        else:
            tokens.append((m.lastgroup, word, start))
        pos = m.end()
    return tokens + [("end", "", len(text))]


class _Parser:
    def __init__(self, text: str):
        self.text, self.tokens, self.i, self.variables = text, tokenize(text), 0, []

    def peek(self):
        return self.tokens[self.i]

    def fail(self, expected: str):
        kind, word, pos = self.peek()
        found = "the expression ended" if kind == "end" else f"found '{word}'"
        raise ExpressionError(self.text, pos, f"Expected {expected} but {found}")

    def binary(self, level: int) -> tuple:
        if level > max(BINDING.values()):
            return self.unary()
        left = self.binary(level + 1)
        while BINDING.get(self.peek()[0]) == level:
            op = self.tokens[self.i][0]
            self.i += 1
            left = (op, left, self.binary(level + 1))
        return left

    def unary(self) -> tuple:
        kind, word, pos = self.peek()
        if kind == NOT:
            self.i += 1
            return (NOT, self.unary())
        if kind == "(":
            self.i += 1
            inner = self.binary(1)
            if self.peek()[0] != ")":
                self.fail(f"')' to close the '(' at column {pos + 1}")
            self.i += 1
            return inner
        if kind == "name":
            if word not in self.variables:
                if len(self.variables) == MAX_VARS:
                    raise ExpressionError(self.text, pos, f"At most {MAX_VARS} variables: '{word}' would be "
                                                     f"the {MAX_VARS + 1}th ({', '.join(self.variables)} so far)")
                self.variables.append(word)
            self.i += 1
            return ("var", word)
        if kind == "const":
            self.i += 1
            return ("const", int(word))
        self.fail("a variable, 0, 1, 'not' or '('")


def _check_size(text: str) -> None:
    """Refuse, before any parsing, a text whose tree would be too deep for recursion to walk."""
    if len(text) > MAX_CHARS:
        raise ExpressionError(text[:MAX_CHARS], MAX_CHARS, f"The expression is longer than {MAX_CHARS} characters; "
                                                           "write a shorter one")


def _check_shape(text: str, tokens: list[tuple[str, str, int]]) -> None:
    depth = operators = 0
    for kind, _, pos in tokens:
        if kind == "(":
            depth += 1
            if depth > MAX_NESTING:
                raise ExpressionError(text, pos, f"Parentheses nested more than {MAX_NESTING} deep")
        elif kind == ")":
            depth = max(depth - 1, 0)
        elif kind in KEYWORDS:
            operators += 1
            if operators > MAX_OPERATORS:
                raise ExpressionError(text, pos, f"More than {MAX_OPERATORS} operators; write a shorter expression")


def parse(text: str) -> Expression:
    text = str(text)
    _check_size(text)
    p = _Parser(text)
    _check_shape(text, p.tokens)
    if p.peek()[0] == "end":
        raise ExpressionError(text, len(text), "Type an expression, e.g. (P or Q) xor (not R or not S)")
    tree = p.binary(1)
    if p.peek()[0] == ")":
        raise ExpressionError(text, p.peek()[2], "Unmatched ')': no '(' before it is still open")
    if p.peek()[0] != "end":
        p.fail("an operator (and, or, xor) or the end")
    if not p.variables:
        raise ExpressionError(text, 0, "Use at least one variable, like P")
    return Expression(text, tree, tuple(p.variables))


def evaluate(node: tuple, env: dict) -> int:
    op = node[0]
    if op == "var":
        return env[node[1]]
    if op == "const":
        return node[1]
    if op == NOT:
        return 1 - evaluate(node[1], env)
    a, b = evaluate(node[1], env), evaluate(node[2], env)
    return {AND: a & b, OR: a | b, XOR: a ^ b}[op]


def to_latex(node: tuple, parent: str | None = None, right: bool = False) -> str:
    """Parentheses around every operation inside a different one, even where the precedence would
    do without: students should not have to remember it to read the result."""
    op = node[0]
    if op == "var":
        return node[1] if len(node[1]) == 1 else rf"\mathit{{{node[1]}}}"
    if op == "const":
        return str(node[1])
    if op == NOT:
        return r"\lnot " + to_latex(node[1], NOT)
    text = f"{to_latex(node[1], op)} {LATEX_OP[op]} {to_latex(node[2], op, right=True)}"
    return f"({text})" if parent and (parent != op or right) else text


def truth_table(expr: Expression) -> pd.DataFrame:
    return pd.DataFrame([r + (expr(r),) for r in expr.rows()], columns=list(expr.variables) + ["y"])
