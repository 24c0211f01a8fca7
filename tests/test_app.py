from streamlit.testing.v1 import AppTest

from nets.engine.config import FOUR_CONFIGS_BASE, PRESETS, four_configs
from nets.engine.catalog import BUNDLED


def test_app_starts_and_shows_home():
    at = AppTest.from_file("../app.py", default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value.endswith("Neural Net Lab")
    assert any("Device" in c.value for c in at.sidebar.caption)
    table = at.dataframe[0].value  # conftest points the data folder at an empty one
    assert table["dataset"].tolist() == ["mnist-mini", "fashion-mnist-mini", "mnist", "fashion-mnist", "cifar10"]
    assert table["status"].tolist() == ["bundled", "bundled", "needs a download of about 12 MB",
                                        "needs a download of about 31 MB", "needs a download of about 170 MB"]


def test_home_presets_open_train_filled_in(monkeypatch, tmp_path):
    """A student not signed in yet: a quick start fills the Train form (signed in, it trains at once:
    tests/test_i20_train.py)."""
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(tmp_path))
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.secrets["lecturer_password"] = "a long lecturer password"  # a classroom server: students sign in
    at.run()
    next(b for b in at.button if b.key == "preset-The four optimizer/loss configurations").click().run()
    assert not at.exception
    assert next(w for w in at.selectbox if w.key == "tw_model").value == "cnn5"
    assert next(w for w in at.selectbox if w.key == "tw_dataset").value == "fashion-mnist-mini"
    assert next(w for w in at.number_input if w.key == "tw_epochs").value == 20
    assert next(w for w in at.toggle if w.key == "tw_four").value is True
    at.switch_page("pages/home.py").run()
    next(b for b in at.button if b.key == "preset-ResNet-18 from scratch").click().run()
    assert next(w for w in at.selectbox if w.key == "tw_model").value == "resnet18"
    assert next(w for w in at.selectbox if w.key == "tw_schedule").value == "cosine"
    assert next(w for w in at.number_input if w.key == "tw_patience").value == 6
    assert next(w for w in at.selectbox if w.key == "tw_dataset").value == "fashion-mnist-mini"
    assert next(w for w in at.toggle if w.key == "tw_four").value is False


def test_every_quick_start_works_offline():
    """Home's three quick starts train on bundled data, and four_configs leaves naming to the runs."""
    for cfg in (PRESETS["mnist-minute"], FOUR_CONFIGS_BASE, PRESETS["resnet18-scratch-mini"]):
        assert cfg.dataset in BUNDLED and not cfg.name
    runs = four_configs()
    assert [(c.optimizer, c.loss) for c in runs] == [("sgd", "ce"), ("sgd", "mse"), ("adam", "ce"), ("adam", "mse")]
    assert all(c.dataset == "fashion-mnist-mini" and c.model == "cnn5" and not c.name for c in runs)
    assert len({c.label() for c in runs}) == 4
