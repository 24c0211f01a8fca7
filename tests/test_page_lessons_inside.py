"""The inside-training lessons on the Train page: the expander's links, the question before Train, and
the answer revealed once the layer statistics show the lesson's finding (a real 10-layer sigmoid MLP on
the bundled digits, trained in a thread)."""
import time
from urllib.parse import parse_qsl, urlsplit

import pytest

from nets.link.inside import BY_KEY, LESSONS, OUTCOMES
from nets.text import shown
from pagetools import open_train


@pytest.fixture
def env(ckpt, monkeypatch):
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))


def test_the_expander_lists_the_four_lessons_as_links(env):
    at = open_train()
    (box,) = [e for e in at.expander if e.label == "🔬 Lessons: inside training"]
    text = " ".join(m.value for m in box.markdown)
    for lesson in LESSONS:
        assert f"[{lesson.title}]({lesson.link()})" in text
    assert not [r for r in at.radio if r.key == "inside_predict"]  # no lesson open: no question


def test_predict_then_reveal_the_vanishing_gradients(env):
    lesson = BY_KEY["deep-sigmoid"]
    at = open_train(dict(parse_qsl(urlsplit(lesson.link()).query)))
    assert any(lesson.question in shown(m.value) for m in at.markdown)
    (predict,) = [r for r in at.radio if r.key == "inside_predict"]
    assert list(predict.options) == [OUTCOMES[k] for k in OUTCOMES] and predict.value is None
    assert next(w for w in at.selectbox if w.key == "tw_model").disabled      # the network is locked,
    assert not next(w for w in at.selectbox if w.key == "tw_activation").disabled  # the fix is free
    predict.set_value("vanishing").run()
    next(b for b in at.button if b.label == "Train").click().run()
    deadline = time.time() + 60
    def answer():
        return [m.value for m in at.markdown if "You predicted" in m.value]
    while time.time() < deadline and not answer():
        time.sleep(0.3)
        at.run()  # run_every never fires under AppTest: each run looks again
    assert not at.exception
    (said,) = answer()  # one line, where the prediction's line was
    assert said == "✅ :green-background[**The first layers' gradients vanish.** You predicted this: well done.]"
    measured = [m.value for m in at.markdown if m.value.startswith("**Measured:** Vanishing gradients: fc1's gradient is 1/")]
    assert measured and any(m.value == lesson.why() for m in at.markdown)  # in the "Why?" popover beside it
