import numpy as np
import pytest
from pagetools import app_on

from nets.calculators import forward_pass as fw
from nets.text import shown


@pytest.fixture
def at():
    return app_on("pages/forward_pass.py")


def output_table(at):
    """The softmax table: the only one with a p column."""
    return next(d.value for d in at.dataframe if "p" in d.value.columns)


def test_default_network_is_uniform_for_any_x(at):
    assert not at.exception and not at.error
    assert len(at.data_editor) == 3 and (at.data_editor[0].value.to_numpy() == [[1, 1, 1, 0]] * 3).all()
    assert output_table(at)["p"].to_numpy() == pytest.approx([1 / 3] * 3)
    assert any(r"z^{(1)} = W^{(1)} x + b^{(1)}" in m.value for m in at.latex)
    assert any("z^{(1)}_j = x_1 + x_2 + x_3" in m.value for m in at.markdown)
    assert "1/3 each" in at.success[0].value and "x = (1, 2, 3)" in at.success[0].value

    at.text_input(key="fw_x").input("-5, 1/2, 100").run()
    assert not at.exception
    assert output_table(at)["p"].to_numpy() == pytest.approx([1 / 3] * 3)
    assert "x = (-5, 0.5, 100)" in at.success[0].value


def test_edited_weights_give_the_nets_answer(at):
    key = at.data_editor[0].key
    at.session_state[key] = {"edited_rows": {0: {"x1": 2.0}, 2: {"b": -1.0}}, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception
    net = fw.constant_network(fw.COURSEWORK)
    net[0].W[0, 0], net[0].b[2] = 2.0, -1.0
    want = fw.forward(net, [1, 2, 3])[-1].a
    # The later layers still have identical units, so the output stays uniform: the argument says so.
    assert output_table(at)["p"].to_numpy() == pytest.approx(want) == [1 / 3] * 3
    assert any(m.value.startswith("Every row of $W^{(2)}$ is the same") for m in at.markdown)

    key = at.data_editor[2].key
    at.session_state[key] = {"edited_rows": {1: {"a2": 3.0}}, "added_rows": [], "deleted_rows": []}
    at.run()
    net[2].W[1, 1] = 3.0
    want = fw.forward(net, [1, 2, 3])[-1].a
    got = output_table(at)["p"].to_numpy()
    assert got == pytest.approx(want) and not np.allclose(got, 1 / 3)
    assert not at.success and "not forced to be uniform" in at.main.caption[-1].value


def test_buttons_set_every_weight(at):
    at.number_input(key="fw_w").set_value(0.5)
    at.button(key="fw_set_w").click().run()
    assert all((e.value.drop(columns="b").to_numpy() == 0.5).all() for e in at.data_editor)
    assert output_table(at)["p"].to_numpy() == pytest.approx([1 / 3] * 3)   # still equal rows

    at.button(key="fw_random").click().run()
    seed = at.session_state["fw_seed"]
    want = fw.forward(fw.random_network(fw.COURSEWORK, seed), [1, 2, 3])[-1].a
    got = output_table(at)["p"].to_numpy()
    assert got == pytest.approx(want) and not np.allclose(got, 1 / 3)

    at.button(key="fw_reset").click().run()
    assert output_table(at)["p"].to_numpy() == pytest.approx([1 / 3] * 3)


def test_bad_input_shows_an_error(at):
    at.text_input(key="fw_x").input("1, two, 3").run()
    assert not at.exception and "'two' is not a number" in shown(at.error[0].value)
    at.text_input(key="fw_x").input("1, 2, 3").run()
    at.session_state[at.data_editor[1].key] = {"edited_rows": {1: {"a3": None}}, "added_rows": [],
                                               "deleted_rows": []}
    at.run()
    assert not at.exception and shown(at.error[0].value).startswith("Layer 2, unit 2, column a3 is empty")


def test_changing_the_architecture(at):
    at.number_input(key="fw_inputs").set_value(2).run()
    at.number_input(key="fw_hidden").set_value(1).run()
    at.selectbox(key="fw_act_0").select("relu").run()
    assert not at.exception and not at.error
    assert at.text_input(key="fw_x").value == "1, 2"
    assert [e.value.shape for e in at.data_editor] == [(3, 3), (3, 4)]
    # All weights 1: z1 = 3 for each unit, relu keeps 3, the output gets 9 each: uniform again.
    assert output_table(at)["z"].to_numpy() == pytest.approx([9, 9, 9])


def test_quiz_checks_before_it_shows(at):
    at.toggle(key="fw_quiz").set_value(True).run()
    assert not at.latex and not at.success   # the worked steps are hidden
    at.selectbox(key="fw_q").select("output: p_2 (softmax)").run()
    at.text_input(key="fw_answer").input("0.5")
    at.button(key="fw_check").click().run()
    assert at.warning[0].value.startswith("Not quite") and not at.latex

    at.text_input(key="fw_answer").input("1/3")
    at.button(key="fw_check").click().run()
    assert at.success[0].value == "Correct: $p_2 = 0.3333$."
    assert at.latex   # a right answer opens the steps

    at.selectbox(key="fw_q").select("layer 2: a_1").run()
    assert not at.success and not at.latex   # old feedback belongs to the old question
    at.button(key="fw_reveal").click().run()
    assert "a^{(2)}_1 = 0.9522" in at.info[0].value and at.latex
