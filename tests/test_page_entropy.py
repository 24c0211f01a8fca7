import pytest
from pagetools import app_on
from nets.text import shown


@pytest.fixture
def at():
    return app_on("pages/entropy.py")


def test_default_shows_the_identity_holding(at):
    assert not at.exception and not at.error and not at.warning
    assert [(m.label, m.value) for m in at.metric] == [
        ("H(p) in nats", "0.8018"), ("H(p, q) in nats", "0.8869"), ("KL(p‖q) in nats", "0.0851")]
    latex = [t.value for t in at.latex]
    assert any(r"p = (0.7, 0.2, 0.1),\quad q = (0.5, 0.3, 0.2)" in t for t in latex)
    assert any(t.strip("$\n").endswith("0.8869 = 0.8018 + 0.0851") for t in latex)
    assert at.success[0].value.startswith("It holds: 0.8018 + 0.0851 = 0.8869 nats")
    assert "H(p) = 0" in at.info[0].value  # the one-hot binary explorer
    assert at.get("vega_lite_chart")


def test_slider_weights_are_normalised(at):
    at.slider(key="ent_p3_0").set_value(1.0).run()  # weights 1, 0.2, 0.1 → 1/1.3, ...
    assert any(r"p = (0.7692, 0.1538, 0.0769)" in t.value for t in at.latex)


def test_q_zero_where_p_needs_it_is_explained(at):
    at.slider(key="ent_q3_2").set_value(0.0).run()
    assert not at.exception and not at.error
    assert at.warning[0].value.startswith("q gives probability 0 to class 3 (p = 0.1)")
    assert [m.value for m in at.metric] == ["0.8018", "∞", "∞"]


def test_typed_values_and_a_typo(at):
    at.radio(key="ent_mode").set_value("Typed values").run()
    at.text_input(key="ent_q_text").input("5, 5, 0").run()
    assert not at.exception and "class 3" in at.warning[0].value
    at.text_input(key="ent_q_text").input("0.5, abc").run()
    assert not at.exception and shown(at.error[0].value).startswith("q: 'abc' is not a number")
    assert not [m for m in at.metric if m.label.startswith("H(p")]


def test_quiz_mode_hides_the_results_until_checked(at):
    at.toggle(key="ent_quiz").set_value(True).run()
    assert not [m for m in at.metric if m.label.startswith("H(p, q)")]
    at.text_input(key="ent_answer").input("0.5")
    at.button(key="ent_check").click().run()
    assert at.warning[0].value == "Not quite: you said 0.5; H(p, q) = 0.8869 nats."
    assert ("H(p, q) in nats", "0.8869") in [(m.label, m.value) for m in at.metric]
    at.text_input(key="ent_answer").input("0.887")
    at.button(key="ent_check").click().run()
    assert at.success[0].value == "Correct: H(p, q) = 0.8869 nats."


def test_binary_explorer(at):
    at.slider(key="ent_bin_q").set_value(0.0).run()
    assert not at.exception and "class 1 (p = 1)" in at.warning[-1].value
    at.slider(key="ent_bin_q").set_value(0.8)
    at.slider(key="ent_bin_p").set_value(0.9).run()
    assert "whatever q is" in at.info[-1].value
