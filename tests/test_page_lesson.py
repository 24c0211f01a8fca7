"""Lesson links and the own-images dataset on the Train page.

How a lesson link is opened here: `AppTest.from_file("../app.py")`, query parameters set, then
`switch_page("pages/train.py")` *before the first run*. That first run goes through app.py's
st.navigation straight to the Train page with the parameters, as a student's browser does when it
opens …/train?lesson=1&…. (Running Home first and switching also works in AppTest, because AppTest
keeps query parameters across switch_page; the browser drops them, which the test of returning to
the page imitates by clearing them.)
"""
import io
import time
import zipfile
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from nets.engine.config import TrainConfig
from nets.link.train import decode
from nets.text import shown
from pagetools import open_train

LESSON = {"lesson": "1", "model": "mlp", "hidden": "64", "lr": "0.05", "hide": "lr,optimizer"}


@pytest.fixture
def env(ckpt, tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    monkeypatch.setenv("NNLAB_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def widget(at, kind, field):
    return next((w for w in getattr(at, kind) if w.key == "tw_" + field), None)


def stored(at) -> TrainConfig:
    return TrainConfig.from_dict(at.session_state["train_cfg"])


def locked(at, kind, field) -> bool:
    w = widget(at, kind, field)
    return w is not None and w.disabled


def test_a_lesson_link_pins_the_form_and_locks_controls(env):
    at = open_train(LESSON)
    assert any(shown(i.value).startswith("Lesson: your lecturer fixed 2 settings") for i in at.info)
    assert not at.warning
    assert widget(at, "selectbox", "model").value == "mlp" and not locked(at, "selectbox", "model")
    assert widget(at, "text_input", "hidden").value == "64"
    # pinned controls are shown, greyed out, with the lesson's values
    assert locked(at, "number_input", "lr") and widget(at, "number_input", "lr").value == 0.05
    assert locked(at, "selectbox", "optimizer") and widget(at, "selectbox", "optimizer").value == "sgd"
    # the four configurations would override the locked optimizer and learning rate: locked off
    four = next(t for t in at.toggle if t.key == "tw_four")
    assert four.disabled and not four.value
    assert stored(at).lr == 0.05 and stored(at).optimizer == "sgd"
    assert any("50,890 parameters" in shown(m.value) for m in at.markdown)  # 784·64+64 + 64·10+10
    assert not [e for e in at.expander if e.label == "Share as lesson link"]  # students get no share box
    assert not next(b for b in at.button if b.label == "Train").disabled

    # the student's own edits survive reruns: the link is applied once per session
    widget(at, "text_input", "hidden").set_value("32").run()
    at.run()
    assert widget(at, "text_input", "hidden").value == "32" and stored(at).hidden == (32,)
    assert stored(at).lr == 0.05

    # the browser drops query parameters on a page switch; coming back keeps the lesson and puts them back
    at.switch_page("pages/runs.py").run()
    at.query_params.clear()
    at.switch_page("pages/train.py").run()
    assert locked(at, "number_input", "lr")
    assert any(shown(i.value).startswith("Lesson:") for i in at.info)
    assert at.query_params["lr"] == "0.05" and at.query_params["hide"] == "lr,optimizer"
    assert stored(at).hidden == (32,)


def test_a_malformed_link_falls_back_to_defaults_with_a_notice(env):
    at = open_train({"lesson": "1", "lr": "abc", "model": "vgg", "epochs": "3"})
    assert not at.exception
    assert len(at.warning) == 1
    text = shown(at.warning[0].value)  # shown as text: the link's values are escaped
    assert text.startswith("This link had problems; defaults were used for:")
    assert "lr ('abc' is not a number)" in text and "model=vgg" in text
    defaults = TrainConfig()
    assert widget(at, "selectbox", "model").value == defaults.model
    assert widget(at, "number_input", "lr").value == defaults.lr
    assert widget(at, "number_input", "epochs").value == 3  # the usable part of the link is kept


def test_without_a_lesson_the_page_is_as_before(env):
    at = open_train({"lr": "0.5"})  # no lesson=1: parameters are not a lesson
    assert not any(shown(i.value).startswith("Lesson:") for i in at.info) and not at.warning
    assert widget(at, "number_input", "lr").value == 0.05  # the page's own starting preset


def test_the_share_link_opens_the_same_configuration(env):
    at = open_train()
    widget(at, "selectbox", "model").set_value("mlp").run()
    widget(at, "text_input", "hidden").set_value("64,32").run()
    widget(at, "number_input", "lr").set_value(0.05).run()
    widget(at, "selectbox", "optimizer").set_value("adam").run()
    share = next(m for m in at.multiselect if m.key == "share_hide")
    assert {"Learning rate (lr)", "Optimizer (optimizer)", "Hidden sizes (hidden)"} <= set(share.options)
    share.set_value(["lr", "optimizer"]).run()
    url = at.code[0].value
    assert url.startswith("?lesson=1&") and "hide=optimizer,lr" in url  # AppTest has no st.context.url
    lesson = decode(parse_qs(urlsplit(url).query))
    assert lesson.problems == [] and lesson.cfg == stored(at) and lesson.hidden == {"lr", "optimizer"}

    student = open_train({k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()})
    assert stored(student) == stored(at)
    assert locked(student, "number_input", "lr") and widget(student, "text_input", "hidden").value == "64,32"
    assert not locked(student, "text_input", "hidden")


def test_a_lesson_without_locks_shows_no_fixed_banner_and_can_set_the_four_runs(env):
    at = open_train({"lesson": "1", "epochs": "2"})
    assert not any(shown(i.value).startswith("Lesson: your lecturer fixed") for i in at.info)
    assert widget(at, "number_input", "epochs").value == 2 and not locked(at, "number_input", "epochs")
    assert not next(t for t in at.toggle if t.key == "tw_four").disabled

    four = open_train({"lesson": "1", "four": "1", "hide": "four"})
    switch = next(t for t in four.toggle if t.key == "tw_four")
    assert switch.value and switch.disabled
    assert any("as **four runs**" in shown(m.value) for m in four.markdown)


def test_a_doctor_fix_cannot_change_a_locked_setting(env):
    at = open_train(LESSON)
    at.session_state["train_cfg"] = {**at.session_state["train_cfg"], "lr": 7.0}  # as a fix would
    at.run()
    assert widget(at, "number_input", "lr").value == 0.05 and stored(at).lr == 0.05


def test_an_invalid_form_offers_no_link(env):
    at = open_train()
    widget(at, "number_input", "lr").set_value(0.0).run()
    assert not at.code
    assert any("Fix the settings above first" in shown(c.value) for c in at.caption)


def zip_of(entries: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def png(colour) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buf, "PNG")
    return buf.getvalue()


PETS = {f"pets/{cls}/{i}.png": png(colour) for cls, colour in (("cat", (250, 0, 0)), ("dog", (0, 0, 250)))
        for i in range(5)} | {"pets/notes.txt": b"hi"}


def test_own_images_come_from_an_uploaded_zip_and_train(env, ckpt):
    at = open_train()
    widget(at, "selectbox", "dataset").set_value("folder").run()
    assert not [w for w in at.text_input if w.key == "tw_folder"]  # no typed paths any more
    assert widget(at, "selectbox", "folder").options == []
    at.file_uploader[0].set_value(("pets.zip", zip_of(PETS), "application/zip")).run()
    assert not at.exception and not at.error
    assert any("10 images in 2 classes (cat, dog); skipped 1 files" in shown(c.value) for c in at.caption)
    folder = stored(at).folder
    assert folder.startswith(str((env / "uploads").resolve())) and widget(at, "selectbox", "folder").value == folder
    at.run()  # a rerun does not unpack the same upload again
    assert len(list((env / "uploads").iterdir())) == 1

    widget(at, "selectbox", "model").set_value("mlp").run()
    widget(at, "number_input", "image_size").set_value(8).run()
    # counted with the folder's own two classes: (3·8·8+1)·128 + (128+1)·2, not ten outputs
    assert any("(3×8×8, 2 classes): **24,962 parameters**" in shown(m.value) for m in at.markdown)
    widget(at, "number_input", "epochs").set_value(1).run()
    next(b for b in at.button if b.label == "Train").click().run()
    deadline = time.time() + 60
    while not at.success and not [e for e in at.error if "failed" in shown(e.value)] and time.time() < deadline:
        time.sleep(0.2)
        at.run()
    assert at.success[0].value.startswith("**Completed all 1 epoch")


@pytest.mark.parametrize("data, words", [
    (zip_of({"../evil.png": png((0, 0, 0)), "cat/1.png": png((0, 0, 0)), "dog/1.png": png((0, 0, 0))}),
     "climbs out"),
    (b"definitely not a zip", "not a .zip"),
])
def test_a_bad_zip_is_an_error_message_not_a_traceback(env, data, words):
    at = open_train()
    widget(at, "selectbox", "dataset").set_value("folder").run()
    at.file_uploader[0].set_value(("bad.zip", data, "application/zip")).run()
    assert not at.exception
    assert any(words in shown(e.value) for e in at.error)
    assert not (env / "evil.png").exists() and not (env.parent / "evil.png").exists()
    assert next(b for b in at.button if b.label == "Train").disabled


def test_a_folder_outside_the_data_root_cannot_be_trained_on(env, tmp_path):
    outside = tmp_path / "secret"
    for cls in ("a", "b"):
        (outside / cls).mkdir(parents=True)
        (outside / cls / "1.png").write_bytes(png((1, 2, 3)))
    # a lesson link that hides the folder control cannot smuggle a path in either
    at = open_train({"lesson": "1", "dataset": "folder", "folder": str(outside), "hide": "folder"})
    assert any("is not inside the data folder" in shown(e.value) for e in at.error)
    assert next(b for b in at.button if b.label == "Train").disabled
