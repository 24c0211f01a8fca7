"""Predict, then reveal: convolution-arithmetic questions and the checking of typed answers
("120,422,400", "1.2e8", "120.4 million" all count)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from nets.calculators.conv_arithmetic import Conv, conv_output, human, layer_step


QUIZ_KINDS = ("size", "params", "mult-adds")


@dataclass(frozen=True)
class Question:
    kind: str                        # one of QUIZ_KINDS
    W: int
    K: int
    P: int
    S: int
    C_in: int
    C_out: int
    prompt: str
    answer: int
    latex: str                       # the worked computation, shown once answered or revealed


def question(kind: str, W: int, K: int, P: int, S: int, C_in: int, C_out: int) -> Question:
    step = layer_step((W, W, C_in), Conv(K, C_out, S, P))
    ask = {"size": "What is the output width W_out?",
           "params": "How many parameters does it have (weights and biases)?",
           "mult-adds": "How many multiply-adds does it take for one image? (within 1%)"}[kind]
    prompt = (f"A {W}×{W}×{C_in} input goes through a {K}×{K} convolution with {C_out} filters, "
              f"padding P = {P} and stride S = {S}. {ask}")
    answer = {"size": step.shape_out[1], "params": step.params, "mult-adds": step.mult_adds}[kind]
    return Question(kind, W, K, P, S, C_in, C_out, prompt, answer, step.latex[QUIZ_KINDS.index(kind)])


def make_question(rng) -> Question:
    """A random layer whose output size comes out whole; `rng` is a random.Random."""
    while True:
        K, S = rng.choice((1, 3, 5, 7)), rng.choice((1, 1, 2))
        P, W = rng.choice((0, (K - 1) // 2)), rng.randrange(7, 65)
        if W + 2 * P >= K and (W - K + 2 * P) % S == 0:
            return question(rng.choice(QUIZ_KINDS), W, K, P, S, rng.choice((1, 3, 16, 32, 64, 192)),
                            rng.choice((8, 16, 32, 64)))


_SCALE = {"": 1, "k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "millions": 1e6,
          "b": 1e9, "bn": 1e9, "billion": 1e9, "g": 1e9}


def parse_number(text: str) -> float | None:
    """'120,422,400', '120 422 400', '1.2e8', '1.2×10^8', '120.4 million', '12.4M'; None if unreadable."""
    t = text.strip().lower().replace("−", "-")
    t = re.sub(r"\s*(parameters?|params?|weights?|multiply-adds?|mult-adds?|macs?|pixels?|px)\.?$", "", t)
    t = re.sub(r"\s*[×x*]\s*10\s*\^\s*\{?\s*([+-]?\d+)\s*\}?", r"e\1", t)
    t = re.sub(r"(?<=\d)[,_\s](?=\d{3}\b)", "", t)  # thousands separators
    m = re.fullmatch(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*([a-z]*)\.?", t)
    if not m or m.group(2) not in _SCALE:
        return None
    return float(m.group(1)) * _SCALE[m.group(2)]


def check_answer(q: Question, text: str) -> tuple[bool, str]:
    given = parse_number(text)
    if given is None:
        return False, f"I could not read '{text.strip()}' as a number: type e.g. 28, 153,632 or 1.2e8."
    if abs(given - q.answer) <= 0.01 * q.answer if q.kind == "mult-adds" else given == q.answer:
        return True, f"Correct: {q.answer:,}" + (f" ({human(q.answer)})." if q.kind == "mult-adds" else ".")
    hint, side = "", conv_output(q.W, q.K, q.P, q.S)
    if q.kind == "params" and given == q.answer - q.C_out:
        hint = " You left out the biases: one per filter."
    elif q.kind == "mult-adds" and abs(given - q.answer * (q.W / side) ** 2) <= 0.01 * given and q.W != side:
        hint = f" You used the input width {q.W}; the count is per output position, and there are {side}×{side}."
    elif q.kind == "size" and given == (q.W - q.K + 2 * q.P) / q.S:
        hint = " Don't forget the + 1: the kernel's first position counts too."
    said = f"{int(given):,}" if given.is_integer() else f"{given:,}"
    return False, f"Not quite: you said {said}; the answer is {q.answer:,}.{hint}"
