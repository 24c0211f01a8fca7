"""nets.calculators.boolean_expression and logic_network: the parser and its precedence, threshold networks checked on whole truth tables."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nets.calculators import boolean_expression as boolean
from nets.calculators import logic_network as logic
from nets.calculators import logic_training as logic_train

# y = (P ∨ Q) ⊕ (¬R ∨ ¬S), rows PQRS = 0000 … 1111. While P = Q = 0, y = ¬R ∨ ¬S (1, 1, 1, 0);
# otherwise y = ¬(¬R ∨ ¬S) = R ∧ S, true only at RS = 11: rows 7, 11, 15.
COURSEWORK_Y = [1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]


def ys(text):
    return boolean.truth_table(boolean.parse(text))["y"].tolist()


def test_every_spelling_of_the_operators():
    assert ys("P and Q") == ys("P ∧ Q") == ys("P & Q") == ys("P && Q") == ys("P AND Q") == [0, 0, 0, 1]
    assert ys("P or Q") == ys("P ∨ Q") == ys("P | Q") == ys("P || Q") == [0, 1, 1, 1]
    assert ys("P xor Q") == ys("P ⊕ Q") == ys("P ^ Q") == [0, 1, 1, 0]
    assert ys("not P") == ys("¬P") == ys("~P") == ys("!P") == ys("Not(P)") == [1, 0]
    assert ys("P and 1") == [0, 1] and ys("P or 0") == [0, 1] and ys("not not P") == [0, 1]


def test_precedence_not_and_xor_or():
    # Rows PQR = 000 … 111; each pair reads differently under the other grouping.
    e = boolean.parse("P or Q and R")            # P ∨ (Q ∧ R): row 100 gives 1, (P ∨ Q) ∧ R would give 0
    assert e((1, 0, 0)) == 1 and ys("P or Q and R") == ys("P or (Q and R)")
    e = boolean.parse("P xor Q or R")            # (P ⊕ Q) ∨ R: row 101 gives 1, P ⊕ (Q ∨ R) would give 0
    assert e((1, 0, 1)) == 1 and ys("P xor Q or R") == ys("(P xor Q) or R")
    e = boolean.parse("P and Q xor R")           # (P ∧ Q) ⊕ R: row 001 gives 1, P ∧ (Q ⊕ R) would give 0
    assert e((0, 0, 1)) == 1 and ys("P and Q xor R") == ys("(P and Q) xor R")
    e = boolean.parse("not P and Q")             # (¬P) ∧ Q: row 00 gives 0, ¬(P ∧ Q) would give 1
    assert e((0, 0)) == 0
    assert boolean.parse("¬P ∧ Q ⊕ R ∨ S").latex() == r"((\lnot P \land Q) \oplus R) \lor S"
    assert boolean.parse("(a & b) | ~c ^ d").latex() == r"(a \land b) \lor (\lnot c \oplus d)"
    assert boolean.parse("P or (Q or R)").latex() == r"P \lor (Q \lor R)"
    assert boolean.parse("not (P and Q) or x1").latex() == r"\lnot (P \land Q) \lor \mathit{x1}"
    assert ys("P xor Q xor R") == [0, 1, 1, 0, 1, 0, 0, 1]   # parity, grouped left to right


def test_variables_in_order_of_appearance_and_rows_in_binary():
    e = boolean.parse("b1 and not a or b1")
    assert e.variables == ("b1", "a") and e.rows() == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert boolean.truth_table(e).columns.tolist() == ["b1", "a", "y"]
    assert boolean.parse("p or P").variables == ("p", "P")   # names are case-sensitive


@pytest.mark.parametrize("text, position, words", [
    ("P and (Q or", 11, "but the expression ended"),
    ("(P and Q", 8, "')' to close the '(' at column 1"),
    ("P)", 1, "Unmatched ')'"),
    ("P $ Q", 2, "Unexpected character '$'"),
    ("P Q", 2, "found 'Q'"),
    ("P and or Q", 6, "Expected a variable"),
    ("", 0, "Type an expression"),
    ("1 xor 0", 0, "at least one variable"),
    ("a or b or c or d or e or f or g", 30, "'g' would be the 7th"),
])
def test_parse_errors_point_at_the_position(text, position, words):
    with pytest.raises(boolean.ExpressionError) as info:
        boolean.parse(text)
    err = info.value
    assert err.position == position and words in str(err) and f"(column {position + 1})" in str(err)
    assert err.caret == f"{text}\n{' ' * position}^"


def test_coursework_truth_table():
    expr = boolean.parse(logic.COURSEWORK_TEXT)
    assert expr.variables == ("P", "Q", "R", "S")
    assert boolean.truth_table(expr)["y"].tolist() == COURSEWORK_Y


def test_coursework_hand_network_on_all_16_rows():
    expr = boolean.parse(logic.COURSEWORK_TEXT)
    net = logic.hand_network(expr)
    assert net.W.tolist() == [[1, 1, 2, 2], [-2, -2, -1, -1]] and net.b.tolist() == [-4.5, 1.5]
    check = logic.verify(net, expr)
    assert check.all_agree and check.n_rows == 16 and set(check.table["agree"]) == {"✓"} and not check.bad_rows
    assert check.table["network y"].tolist() == COURSEWORK_Y
    # h1 = (P ∨ Q) ∧ R ∧ S fires on 0111, 1011, 1111; h2 = ¬P ∧ ¬Q ∧ (¬R ∨ ¬S) on 0000, 0001, 0010.
    assert np.flatnonzero(check.table["h1"]).tolist() == [7, 11, 15]
    assert np.flatnonzero(check.table["h2"]).tolist() == [0, 1, 2]
    units = logic.unit_table(net, expr)
    assert units["fires when"].tolist() == ["(P ∨ Q) ∧ R ∧ S", "¬P ∧ ¬Q ∧ (¬R ∨ ¬S)"]
    assert units["rows"].tolist() == ["7, 11, 15", "0, 1, 2"]


def test_hand_network_follows_the_function_not_the_spelling():
    expr = boolean.parse("(not S or not R) xor (Q or P)")   # same function, variables S, R, Q, P
    net = logic.hand_network(expr)
    assert net is not None and logic.verify(net, expr).all_agree
    assert net.W.tolist() == [[2, 2, 1, 1], [-1, -1, -2, -2]]
    assert logic.hand_network(boolean.parse("(P or Q) xor (R or S)")) is None
    assert logic.hand_network(boolean.parse("P xor Q")) is None


def test_minterm_network_one_unit_per_true_row():
    expr = boolean.parse(logic.COURSEWORK_TEXT)
    net = logic.threshold_network(expr)
    assert len(net.b) == sum(COURSEWORK_Y) == 6
    # Row 0111 (¬P ∧ Q ∧ R ∧ S): weights −1, 1, 1, 1 and bias −(3 − 0.5) = −2.5.
    k = net.cases.index("¬P ∧ Q ∧ R ∧ S")
    assert net.W[k].tolist() == [-1, 1, 1, 1] and net.b[k] == -2.5
    assert net.b[net.cases.index("¬P ∧ ¬Q ∧ ¬R ∧ ¬S")] == 0.5
    assert logic.verify(net, expr).all_agree


def test_compact_network_from_prime_implicants():
    expr = boolean.parse(logic.COURSEWORK_TEXT)
    # (P ∨ Q) ∧ R ∧ S = PRS ∨ QRS; ¬P ∧ ¬Q ∧ (¬R ∨ ¬S) = ¬P¬Q¬R ∨ ¬P¬Q¬S.
    net = logic.compact_network(expr)
    assert sorted(net.cases) == sorted(["P ∧ R ∧ S", "Q ∧ R ∧ S", "¬P ∧ ¬Q ∧ ¬R", "¬P ∧ ¬Q ∧ ¬S"])
    assert logic.verify(net, expr).all_agree
    assert [n.name for n in logic.networks(expr)] == [logic.HAND_NAME, "one unit per DNF term",
                                                     "one unit per true row"]
    xor = boolean.parse("P xor Q")
    assert [len(n.b) for n in logic.networks(xor)] == [2]   # minterms are already the DNF
    assert all(logic.verify(n, xor).all_agree and logic.verify(n, xor).n_rows == 4 for n in logic.networks(xor))


def test_a_wrong_network_is_caught_on_its_rows():
    expr = boolean.parse(logic.COURSEWORK_TEXT)
    net = logic.hand_network(expr)
    broken = logic.ThresholdNetwork("broken", net.variables, net.W, np.array([-3.5, 1.5]), net.cases)
    # h1 = step(P + Q + 2R + 2S − 3.5) also fires where the sum is 4 without the case holding:
    # 0011 (2 + 2), 1101 and 1110 (1 + 1 + 2): rows 3, 13, 14.
    check = logic.verify(broken, expr)
    assert not check.all_agree and check.bad_rows == [3, 13, 14] and check.table["agree"][3] == "✗"


def test_constant_functions():
    never = boolean.parse("P and not P")
    net = logic.compact_network(never)
    assert len(net.b) == 0 and logic.verify(net, never).all_agree
    always = boolean.parse("P or not P")
    net = logic.compact_network(always)
    assert net.cases == ("always",) and net.b.tolist() == [0.5] and logic.verify(net, always).all_agree
    assert logic.formula_latex(logic.compact_network(never))[1] == r"y = \mathrm{step}(-0.5) = 0"


def test_formulas_and_diagram():
    expr = boolean.parse(logic.COURSEWORK_TEXT)
    cases, output = logic.formula_latex(logic.hand_network(expr))
    assert r"h_{1} &= (P \lor Q) \land R \land S" in cases
    assert output == r"y = h_{1} \lor h_{2} = \mathrm{step}\big(h_{1} + h_{2} - 0.5\big)"
    dot = logic.dot(logic.compact_network(expr))
    assert dot.startswith("digraph {") and dot.endswith("}")
    # 12 nonzero input weights (three literals in each of 4 units), 4 edges into y.
    assert dot.count('-> "h') == 12 and dot.count('-> "y"') == 4
    assert '{rank=same; "in_P" -> "in_Q" -> "in_R" -> "in_S" [style=invis];}' in dot   # inputs in order
    assert '"in_P" -> "h1" [label="−1", color=red, style=dashed]' in dot
    many = logic.formula_latex(logic.threshold_network(boolean.parse("a or b or c or d or e or f")))
    assert r"\vdots" in many[0] and r"h_{63}" in many[1] and r"h_{20}" not in many[1]


# ------------------------------------------------------------------ random expressions (hypothesis)
SPELL = {"and": ["and", "∧", "&", "&&"], "or": ["or", "∨", "|", "||"], "xor": ["xor", "⊕", "^"],
         "not": ["not ", "¬", "~", "!"]}
BIND = {"or": 1, "xor": 2, "and": 3}

leaves = st.sampled_from(["A", "B", "C", "D", "E", "F"]).map(lambda v: ("var", v))
trees = st.recursive(leaves, lambda kids: st.one_of(
    st.tuples(st.just("not"), kids),
    st.tuples(st.sampled_from(["and", "or", "xor"]), kids, kids)), max_leaves=10)


def reference(node, env):
    if node[0] == "var":
        return env[node[1]]
    if node[0] == "not":
        return 1 - reference(node[1], env)
    a, b = reference(node[1], env), reference(node[2], env)
    return {"and": a & b, "or": a | b, "xor": a ^ b}[node[0]]


def render(node, draw, outer=0, right=False):
    """Text with parentheses only where the documented precedence needs them (plus some at random)."""
    if node[0] == "var":
        return node[1]
    if node[0] == "not":
        inner = render(node[1], draw, 4)
        return draw(st.sampled_from(SPELL["not"])) + inner
    level = BIND[node[0]]
    text = f"{render(node[1], draw, level)} {draw(st.sampled_from(SPELL[node[0]]))} " \
           f"{render(node[2], draw, level, right=True)}"
    needed = outer > level or (right and outer == level)
    return f"({text})" if needed or draw(st.booleans()) else text


@settings(max_examples=60, deadline=None)
@given(tree=trees, data=st.data())
def test_random_expressions_parse_and_their_networks_verify(tree, data):
    text = render(tree, data.draw)
    expr = boolean.parse(text)
    for row in expr.rows():
        assert expr(row) == reference(tree, dict(zip(expr.variables, row))), text
    for net in logic.networks(expr):
        check = logic.verify(net, expr)
        assert check.all_agree and check.n_rows == 2 ** len(expr.variables), (text, net.name)
    # The LaTeX form, read back with ASCII operators, is the same function.
    ascii_text = expr.latex().replace(r"\lnot ", "~").replace(r"\land", "&").replace(r"\lor", "|") \
        .replace(r"\oplus", "^")
    again = boolean.parse(ascii_text)
    assert again.variables == expr.variables and [again(r) for r in expr.rows()] == [expr(r) for r in expr.rows()]


# ------------------------------------------------------------------ training
def test_network_labels_and_the_starting_number_of_hidden_units():
    nets = logic.networks(boolean.parse(logic.COURSEWORK_TEXT))
    assert nets[0].label == f"{logic.HAND_NAME}: 2 hidden units"
    assert logic.compact_network(boolean.parse("P")).label.endswith(": 1 hidden unit")
    assert [logic_train.default_hidden(n) for n in (1, 3, 7)] == [4, 6, logic_train.MAX_HIDDEN]


def test_gradient_descent_learns_xor_quickly():
    expr, seen = boolean.parse("P xor Q"), []
    result = logic_train.train_sigmoid(expr, hidden=4, epochs=2000, lr=2.0, seed=0,
                                 callback=lambda epoch, loss: seen.append(epoch))
    assert seen == list(range(2000)) and len(result.losses) == 2000
    assert result.losses[-1] < 0.05 < result.losses[0]
    assert ((result.outputs > 0.5).astype(int) == [0, 1, 1, 0]).all()
    assert sorted(result.snapshots) == [0, 500, 1000, 1500, 2000]
    table = logic_train.learning_table(expr, logic.compact_network(expr), result)
    assert table["learned y"].tolist() == table["hand-set y"].tolist() == table["expression y"].tolist()
    assert logic_train.rows_right(table) == 4
    table.loc[0, "learned y"] = 1
    assert logic_train.rows_right(table) == 3
    assert "p, epoch 0" in table.columns and "p, epoch 2000" in table.columns
    units = logic_train.learned_units(expr, result)
    assert units.shape == (4, 4) and list(units.columns) == ["w·P", "w·Q", "bias", "weight to y"]
    curve = logic_train.loss_curve(result, points=100)
    assert len(curve) == 100 and curve["epoch"].iloc[1] == 20 and curve["loss"].iloc[0] == result.losses[0]


def test_gradient_descent_on_the_coursework_table():
    expr = boolean.parse(logic.COURSEWORK_TEXT)
    result = logic_train.train_sigmoid(expr, hidden=6, epochs=2000, lr=2.0, seed=0)
    assert ((result.outputs > 0.5).astype(int) == COURSEWORK_Y).all()
