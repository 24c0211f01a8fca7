from streamlit.testing.v1 import AppTest


def test_app_starts_and_shows_home():
    at = AppTest.from_file("../app.py", default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value.endswith("Neural Net Lab")
    assert any("Device" in c.value for c in at.sidebar.caption)
    names = at.dataframe[0].value["dataset"].tolist()
    assert names[:1] == ["mnist-mini"] and at.dataframe[0].value["status"][0] == "ready offline"


def test_home_presets_open_train_filled_in(monkeypatch, tmp_path):
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(tmp_path))
    at = AppTest.from_file("../app.py", default_timeout=60).run()
    next(b for b in at.button if b.key == "preset-The four optimizer/loss configurations").click().run()
    assert not at.exception
    assert next(w for w in at.selectbox if w.key == "tw_model").value == "cnn5"
    assert next(w for w in at.selectbox if w.key == "tw_dataset").value == "cifar10"
    assert next(w for w in at.checkbox if w.key == "tw_four").value is True
    at.switch_page("pages/home.py").run()
    next(b for b in at.button if b.key == "preset-ResNet-18 from scratch").click().run()
    assert next(w for w in at.selectbox if w.key == "tw_model").value == "resnet18"
    assert next(w for w in at.selectbox if w.key == "tw_schedule").value == "cosine"
    assert next(w for w in at.number_input if w.key == "tw_patience").value == 6
    assert next(w for w in at.checkbox if w.key == "tw_four").value is False
