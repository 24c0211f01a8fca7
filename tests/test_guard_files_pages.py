"""Issue 19, item 2 on the pages: the Train form's folder picker lists only what this student may use
(with their uploads, sizes, Delete and quota), and the Pretrained page's installer is the lecturer's."""
import io
import zipfile

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from nets.server.upload import my_uploads, save_upload


def png(colour) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buf, "PNG")
    return buf.getvalue()


def zip_of(n=2) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for cls, colour in (("cat", (250, 0, 0)), ("dog", (0, 0, 250))):
            for i in range(n):
                z.writestr(f"{cls}/{i}.png", png(colour))
    return buf.getvalue()


def as_student(at: AppTest, name="alice") -> AppTest:
    at.secrets["lecturer_password"] = "letmein"  # a classroom server
    at.session_state["identity"] = f"name:{name}"  # signed in (nets.server.identity accepts it from the server)
    return at


@pytest.fixture
def data(ckpt, tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    monkeypatch.setenv("NNLAB_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_the_folder_picker_shows_only_the_students_own_uploads(data):
    bobs = save_upload(zip_of(), data, "bobs-secret.zip", "name:bob").folder
    alices = save_upload(zip_of(), data, "alices.zip", "name:alice").folder
    at = as_student(AppTest.from_file("../app.py", default_timeout=60))
    at.switch_page("pages/train.py").run()
    next(w for w in at.selectbox if w.key == "tw_dataset").set_value("folder").run()
    assert not at.exception
    picker = next(w for w in at.selectbox if w.key == "tw_folder")
    assert picker.options == ["alices.zip · 4 images · 1 KB · yours"] and picker.value == str(alices)
    assert str(bobs) not in str(at.session_state["train_cfg"])
    (uploads,) = [e for e in at.expander if e.label.startswith("Your uploads")]
    assert "1 of 5 uploads, 4 of 4,000 images" in uploads.label
    next(b for b in at.button if b.key == f"delete-upload-{alices.name}").click().run()
    assert not at.exception and my_uploads(data, "name:alice") == [] and bobs.exists()
    assert next(w for w in at.selectbox if w.key == "tw_folder").options == []


def test_a_lesson_link_to_another_students_upload_cannot_train(data):
    bobs = save_upload(zip_of(), data, "bobs.zip", "name:bob").folder
    at = as_student(AppTest.from_file("../app.py", default_timeout=60))
    at.query_params.update({"lesson": "1", "dataset": "folder", "folder": str(bobs), "hide": "folder",
                            "model": "mlp"})
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert any("another student" in e.value for e in at.error)
    assert next(b for b in at.button if b.label == "Train").disabled


def test_the_weights_installer_is_hidden_from_a_student_on_a_server(data, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    at = as_student(AppTest.from_file("../app.py", default_timeout=60))
    at.switch_page("pages/transfer.py").run()
    assert not at.exception
    assert not at.get("file_uploader") and not any(b.label.startswith("Check and install") for b in at.button)
    assert any("ask your lecturer" in w.value for w in at.warning)
    assert not any(str(tmp_path) in w.value for w in at.warning)  # no server paths for students

    at.sidebar.text_input(key="lecturer_try").set_value("letmein").run()  # lecturer mode
    assert not at.exception and len(at.get("file_uploader")) == 2
