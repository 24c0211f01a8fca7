import pytest
from pagetools import app_on

from nets.calculators import logic_network as logic
from nets.text import shown


@pytest.fixture
def at():
    return app_on("pages/logic_network.py")


def truth_table(at):
    return next(d.value for d in at.dataframe if "agree" in d.value.columns)


def test_coursework_expression_verified_on_16_rows(at):
    assert not at.exception and not at.error
    assert at.radio(key="logic_network").value.startswith(logic.HAND_NAME)
    table = truth_table(at)
    assert len(table) == 16 and set(table["agree"]) == {"✓"}
    assert (table["network y"] == table["expression y"]).all() and list(table.columns[4:6]) == ["h1", "h2"]
    assert at.success[0].value.startswith("All 16 rows agree")
    assert any(r"\lnot(\lnot R \lor \lnot S)" in m.value for m in at.latex)   # the expansion
    units = next(d.value for d in at.dataframe if "fires when" in d.value.columns)
    assert units["fires when"].tolist() == ["(P ∨ Q) ∧ R ∧ S", "¬P ∧ ¬Q ∧ (¬R ∨ ¬S)"]
    diagram = at.get("graphviz_chart")[0].proto.spec
    assert diagram.startswith("digraph") and diagram.count('-> "h') == 8

    at.radio(key="logic_network").set_value(at.radio(key="logic_network").options[2]).run()
    table = truth_table(at)
    assert len(table) == 16 and set(table["agree"]) == {"✓"} and "h6" in table.columns


def test_parse_error_points_at_the_position(at):
    at.text_input(key="logic_expr").input("P and (Q or").run()
    assert not at.exception
    message = shown(at.error[0].value)  # it quotes what was typed: shown as text
    assert "column 12" in message and at.code[0].value == "P and (Q or\n           ^"
    assert not at.dataframe   # nothing half-drawn below the error


def test_xor_builds_a_network_verified_on_4_rows(at):
    at.text_input(key="logic_expr").input("P xor Q").run()
    assert not at.exception and not at.error
    table = truth_table(at)
    assert len(table) == 4 and table["network y"].tolist() == [0, 1, 1, 0] and set(table["agree"]) == {"✓"}
    assert at.success[0].value.startswith("All 4 rows agree")
    assert not any(r"\lnot(\lnot R" in m.value for m in at.latex)   # no coursework expansion here


def test_training_learns_next_to_the_hand_set_weights(at):
    at.text_input(key="logic_expr").input("P xor Q").run()
    at.button(key="logic_train").click().run()
    assert not at.exception
    assert "gets 4 of 4 rows right" in at.success[-1].value
    learned = next(d.value for d in at.dataframe if "learned y" in d.value.columns)
    assert learned["learned y"].tolist() == learned["hand-set y"].tolist() == [0, 1, 1, 0]
    assert at.get("vega_lite_chart")

    at.text_input(key="logic_expr").input("P or Q").run()   # a result belongs to its own settings
    assert not any("learned y" in d.value.columns for d in at.dataframe)
