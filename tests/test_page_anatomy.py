import pytest
from pagetools import app_on
from nets.text import shown


@pytest.fixture
def at():
    return app_on("pages/anatomy.py")


def test_lenet_on_mnist_by_default(at):
    assert not at.exception
    assert at.selectbox(key="anatomy_model").value == "lenet"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Total parameters"] == "8,490" and metrics["Trainable"] == "8,490"
    table = at.dataframe[0].value
    assert table["params"].sum() == 8490
    assert table.set_index("layer").loc["0", "formula"] == "(5·5·1+1)·10 = 260"
    assert "**mlp 784-128-10**" in [m.value for m in at.markdown]
    assert "101,770" in [m.value for m in at.metric]
    assert "12× fewer" in at.info[0].value


def test_invalid_hidden_sizes_show_an_error(at):
    at.selectbox(key="anatomy_model").select("mlp").run()
    assert at.metric[0].value == "101,770"
    at.text_input(key="anatomy_mlp_hidden").input("12,x").run()
    assert not at.exception
    assert "'x'" in shown(at.error[0].value) and "256,128,64" in shown(at.error[0].value)
    assert not at.dataframe  # nothing half-drawn below the error


def test_quiz_feedback(at):
    question = at.session_state["anatomy_question"]
    assert question.prompt in [m.value for m in at.markdown]

    at.text_input(key="anatomy_answer").input(question.answer_text.replace("×", "x"))
    at.button(key="anatomy_check").click().run()
    assert at.success[0].value.startswith("Correct")

    at.text_input(key="anatomy_answer").input("999999")
    at.button(key="anatomy_check").click().run()
    assert not at.success
    assert at.warning[0].value.startswith("Not quite") and question.formula in at.warning[0].value

    at.button(key="anatomy_reveal").click().run()
    assert f"**{question.answer_text}**" in at.info[-1].value

    seed = at.session_state["anatomy_seed"]
    at.button(key="anatomy_next").click().run()
    assert at.session_state["anatomy_seed"] == seed + 1
    assert not at.warning and at.text_input(key="anatomy_answer").value == ""
    assert len(at.info) == 1  # only the comparison's note: the reveal went with its question
