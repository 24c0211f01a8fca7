import pytest
from pagetools import app_on
from nets.text import shown


@pytest.fixture
def at():
    return app_on("pages/conv_arithmetic.py")


def test_defaults_show_the_worked_example(at):
    assert not at.exception and not at.error
    metrics = [(m.label, m.value) for m in at.metric]
    # the one-layer calculator starts on the example's 5×5 convolution
    assert metrics[:3] == [("Output H×W×C", "28×28×32"), ("Parameters", "153,632"),
                           ("Multiply-adds per image", "120,422,400")]
    assert ("Parameters", "15,920") in metrics and ("Multiply-adds", "12,443,648") in metrics
    assert "3,088 + 12,832 = 15,920 parameters instead of 153,632" in at.success[0].value
    assert "9.7× fewer" in at.success[0].value
    latex = [t.value for t in at.latex]
    assert any(r"= 4{,}801\cdot 32 = 153{,}632" in t for t in latex)
    assert any(r"= 193\cdot 16 = 3{,}088" in t for t in latex)
    chain = at.dataframe[1].value  # [0] is the chain editor
    assert list(chain["output"]) == ["28×28×6", "14×14×6", "10×10×16", "5×5×16"]
    assert chain["params"].sum() == 2_572


def test_non_integer_size_shows_the_message(at):
    at.number_input(key="conv_P").set_value(1)
    at.number_input(key="conv_S").set_value(2).run()
    assert not at.exception
    assert shown(at.error[0].value).startswith("Not a whole number: (28 − 5 + 2·1)/2 + 1 = 13.5.")
    assert any(r"\frac{25}{2} + 1 = 13.5" in t.value for t in at.latex)
    assert at.metric[0].label != "Output H×W×C"  # nothing computed from a size that does not exist


def test_same_padding_needs_an_odd_kernel(at):
    at.checkbox(key="conv_same").check()
    at.number_input(key="conv_K").set_value(4).run()
    assert not at.exception and "odd kernel" in shown(at.error[0].value)


def test_chain_edits_and_the_first_failing_layer(at):
    # a 6×6 first kernel leaves 27×27, which a 2×2 pool cannot halve
    at.session_state["conv_chain"] = {"edited_rows": {0: {"K": 6}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    assert shown(at.error[0].value).startswith("Layer 2 (max pool 2×2, S=2) on a 27×27×6 input: Not a whole number")
    assert list(at.dataframe[1].value["output"]) == ["27×27×6"]


def test_quiz_checks_a_right_and_a_wrong_answer(at):
    q = at.session_state["conv_question"]
    assert q.prompt in [m.value for m in at.markdown]
    at.text_input(key="conv_answer").input(f"{q.answer:,}")
    at.button(key="conv_check").click().run()
    assert at.success[-1].value.startswith("Correct")
    assert f"Answer: **{q.answer:,}**" in [i.value for i in at.info]

    at.text_input(key="conv_answer").input(str(q.answer * 3 + 7))
    at.button(key="conv_check").click().run()
    assert at.warning[0].value.startswith("Not quite") and f"{q.answer:,}" in at.warning[0].value

    seed = at.session_state["conv_seed"]
    at.button(key="conv_next").click().run()
    assert at.session_state["conv_seed"] == seed + 1
    assert not at.warning and not at.info and at.text_input(key="conv_answer").value == ""
