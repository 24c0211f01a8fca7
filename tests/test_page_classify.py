"""The "Classify an image" page in Streamlit's AppTest: samples, uploads (good and bad), the probe."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nets.inspect.imageio import MAX_BYTES
from test_page_predictions import many_runs

SAMPLES = Path(__file__).resolve().parent.parent / "assets" / "samples"


def page() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.switch_page("pages/classify.py")
    return at.run()


def widget(elements, label):
    return next(e for e in elements if e.label == label)


def prediction(at: AppTest) -> str:
    return widget(at.metric, "Prediction").value


@pytest.fixture(scope="module")
def at():
    return page()


def test_page_runs_and_predicts_the_default_sample(at):
    assert not at.exception
    assert widget(at.selectbox, "Saved run").value == "lenet-mnist-mini"
    assert prediction(at) == "3"                      # photo-3.png: inverted, cropped, centred
    assert any("1×1×28×28" in m.value for m in at.markdown)


def test_choosing_a_sample_shows_its_prediction(at):
    widget(at.selectbox, "Sample").set_value("digit-7.png").run()
    assert not at.exception and prediction(at) == "7"


def test_attribution_methods_and_probe(at):
    for method in ("saliency", "occlusion", "integrated gradients"):
        widget(at.selectbox, "Method").set_value(method).run()
        assert not at.exception and not at.error
    def probe_caption():   # "Probability of the original answer 7: 97.8% → 97.8%."
        return next(c.value for c in at.caption if c.value.startswith("Probability of the original"))
    before, after = probe_caption().rstrip(".").split(": ")[1].split(" → ")
    assert before == after
    widget(at.slider, "Rotation (degrees)").set_value(90).run()
    widget(at.slider, "Noise (std, 0–1 units)").set_value(0.3).run()
    assert not at.exception
    before, after = probe_caption().rstrip(".").split(": ")[1].split(" → ")
    assert before != after and widget(at.metric, "Prediction now").value


def test_bad_upload_shows_an_error_not_a_traceback():
    at = page()
    at.radio[0].set_value("Upload").run()
    assert not at.exception and at.info                # asks for a file
    at.file_uploader[0].set_value(("x.png", b"garbage", "image/png")).run()
    assert not at.exception
    assert "x.png: This file is not a PNG" in at.error[0].value
    assert not at.metric


def test_uploads_good_and_oversized():
    at = page()
    at.radio[0].set_value("Upload").run()
    at.file_uploader[0].set_value(("seven.png", (SAMPLES / "digit-7.png").read_bytes(), "image/png")).run()
    assert not at.exception and prediction(at) == "7"
    at.file_uploader[0].set_value(("huge.png", b"\0" * (MAX_BYTES + 1), "image/png")).run()
    assert not at.exception and "the limit is 10.0 MB" in at.error[0].value


def test_draw_mode_never_crashes():
    at = page()
    at.radio[0].set_value("Draw").run()
    assert not at.exception and (at.info or at.warning)


def test_default_run_stays_and_search_finds_older_runs(monkeypatch, ckpt):
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    shipped = many_runs(ckpt)                 # the shipped run is older than the newest 50
    at = page()
    picker = widget(at.selectbox, "Saved run")
    assert picker.value == shipped and len(picker.options) == 51 and prediction(at) == "3"
    picker.set_value("filler-12").run()       # a run picked here is what the other pages show next
    assert not at.exception and at.session_state["selected_run"] == "filler-12"
    at.text_input(key="classify_run_search").set_value("mnist-mini").run()
    assert not at.exception and widget(at.selectbox, "Saved run").value == shipped
    assert prediction(at) == "3"


def test_no_trained_runs(monkeypatch, ckpt):
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    at = page()
    assert not at.exception and "No saved run has a trained model" in at.info[0].value
