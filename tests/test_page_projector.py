"""The Feature projector page (AppTest): scatter, purity, method switch, missing packages, the clicked
point's panel and the epoch slider, on a tiny LeNet whose training kept per-epoch features."""
import json

import numpy as np
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

import nets.experiment as experiment
import nets.engine.start as start
import nets.runs.features_cache as features_cache
import pages._projector_ui as ui
from nets.engine.config import TrainConfig
from nets.inspect.projection import knn_purity, pca
from nets.runs import get_run
from nets.runs.epoch_features import feature_epochs
from nets.runs.features_cache import run_features
from nets.runs.recorder import RunRecorder
from nets.text import shown
from pagetools import rerun_until, tiny_run

PAGE = "pages/projector.py"


def projector_run(ckpt, monkeypatch, epochs: int = 3, **changes) -> str:
    """A LeNet trained on 200 MNIST-mini digits, its recorder given the model and data (as
    nets.experiment does once wired) so each epoch's features are kept. Returns its run id."""
    cfg = TrainConfig(dataset="mnist-mini", model="lenet", train_per_class=20, epochs=epochs, name="tiny-lenet",
                      **changes)
    data = experiment.prepare_data(cfg, download=False)
    built, real = {}, start.build_model
    with monkeypatch.context() as m:
        m.setattr(start, "build_model", lambda *a, **k: built.setdefault("model", real(*a, **k)))
        m.setattr(experiment, "RunRecorder", lambda run, *rest: RunRecorder(run, built["model"], data))
        return experiment.run_training(cfg, data, checkpoints=ckpt).run_id


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    ckpt = tmp_path_factory.mktemp("projector") / "checkpoints"
    ckpt.mkdir()
    run_id = projector_run(ckpt, mp)
    mp.undo()
    yield ckpt, run_id
    mp.setenv("NNLAB_CHECKPOINTS", str(ckpt))  # the job service the pages used (a thread backend): closed
    from pages._service import job_manager
    job_manager().close()
    mp.undo()


def drawn(at) -> bool:
    """The scatter is drawn: the projector job has stored what it needs (its scores show beside it)."""
    return any(m.label == "kNN purity" for m in at.metric)


def open_page(ckpt, monkeypatch, **secrets) -> AppTest:
    """The page on a fresh tab, rerun until its job computed what it draws (at once when stored)."""
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.secrets.update(secrets)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at if secrets else rerun_until(at, drawn)


def title(chart) -> str:
    return json.dumps(json.loads(chart.proto.spec).get("title"))


def chart_data(el) -> tuple[dict, list]:
    """The chart's spec and the rows of its first dataset (sent beside the spec, as Arrow)."""
    spec = json.loads(el.proto.spec)
    if not el.proto.datasets:
        return spec, next(iter(spec.get("datasets", {}).values()), [])
    table = pa.ipc.open_stream(el.proto.datasets[0].data.data).read_all()
    return spec, table.to_pandas().to_dict("records")


def test_scatter_purity_and_epochs(shared, monkeypatch):
    ckpt, run_id = shared
    at = open_page(ckpt, monkeypatch)
    run = get_run(ckpt, run_id)
    f = run_features(run)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["kNN purity"] == f"{knn_purity(f.x, f.labels, 10):.1%}"
    assert metrics["Test accuracy"] == f"{run.info['test']['accuracy']:.1%}"
    scatter, epoch_scatter, curve = at.get("vega_lite_chart")
    _, rows = chart_data(scatter)
    assert len(rows) == 1000 and rows[0]["image"].startswith("data:image/png;base64,")
    wrong = {r["index"] for r in rows if r["outcome"] == "wrong"}
    assert wrong == set(np.flatnonzero(f.mistakes[:1000]).tolist())
    assert {r["class"] for r in rows} <= set(f.classes)
    xy = pca(f.x)
    assert np.allclose([[r["x"], r["y"]] for r in rows[:5]], xy[:5], atol=1e-4)
    assert at.select_slider(key="proj_epoch").options == ["1", "2", "3"]
    assert at.select_slider(key="proj_epoch").value == 3
    _, curve_rows = chart_data(curve)
    assert {r["measure"] for r in curve_rows} == {"kNN purity (features)", "test accuracy"}
    assert [r["epoch"] for r in curve_rows if r["measure"] == "test accuracy"] == [1, 2, 3]
    at.select_slider(key="proj_epoch").set_value(1).run()
    assert not at.exception
    assert "Epoch 1" in title(at.get("vega_lite_chart")[1])
    assert feature_epochs(run) == [1, 2, 3]


def test_method_switch_colours_and_missing_package(shared, monkeypatch):
    ckpt, _ = shared
    asked = []

    def fake(x, method, **params):  # UMAP/t-SNE cost seconds: the page's wiring is what is tested here
        asked.append((method, params))
        return pca(x) * 2
    monkeypatch.setattr(features_cache, "project", fake)
    at = open_page(ckpt, monkeypatch)
    at.radio(key="proj_method").set_value("tsne").run()
    rerun_until(at, lambda a: drawn(a) and "t-SNE" in title(a.get("vega_lite_chart")[0]))
    assert ("tsne", {"perplexity": 30.0, "seed": 0}) in asked  # computed by a job (a thread here)
    at.slider(key="proj_perp").set_value(10).run()
    rerun_until(at, lambda a: ("tsne", {"perplexity": 10.0, "seed": 0}) in asked and drawn(a))
    at.radio(key="proj_colour").set_value("predicted").run()
    _, rows = chart_data(at.get("vega_lite_chart")[0])
    assert all(r["class"] == r["predicted"] for r in rows)
    monkeypatch.setattr(ui, "missing_reason", lambda m: None if m == "pca" else "UMAP needs umap-learn: pip")
    at.radio(key="proj_method").set_value("umap").run()
    assert not at.exception and "umap-learn" in shown(at.warning[0].value)


def test_clicked_point_shows_image_top5_and_grad_cam(shared, monkeypatch):
    ckpt, run_id = shared
    run = get_run(ckpt, run_id)
    f = run_features(run)
    i = int(np.flatnonzero(f.mistakes)[0])
    monkeypatch.setattr(ui, "_picked", lambda event: i)  # Streamlit's AppTest cannot click a chart
    at = open_page(ckpt, monkeypatch)
    captions = [shown(x.caption) for im in at.get("image") for x in im.proto.imgs]
    assert any(f"#{i}" in c for c in captions) and any("Grad-CAM" in c for c in captions)
    top5 = at.dataframe[0].value
    assert len(top5) == 5 and list(top5.iloc[:, 0])[0] == f.classes[int(f.predictions[i])]


def test_an_mlp_without_epoch_features(ckpt, service, monkeypatch):
    run = get_run(ckpt, tiny_run(ckpt, "tiny-mlp"))
    for p in run.path.glob("features-e*.npz"):
        p.unlink()
    monkeypatch.setattr(ui, "_picked", lambda event: 0)
    at = open_page(ckpt, monkeypatch)
    assert any("kept no per-epoch features" in shown(c.value) for c in at.caption)
    captions = [shown(x.caption) for im in at.get("image") for x in im.proto.imgs]
    assert any("#0" in c for c in captions) and not any("Grad-CAM" in c for c in captions)  # no conv layer
    assert len(at.dataframe[0].value) == 5 and len(at.get("vega_lite_chart")) == 1


def test_a_signed_out_classroom_tab_computes_nothing(ckpt, service, monkeypatch):
    run_id = tiny_run(ckpt, "fresh-mlp")
    at = open_page(ckpt, monkeypatch, class_code="quiet-owl")  # a classroom: nobody signed in yet
    assert any("Sign in" in shown(i.value) and "compute features" in shown(i.value) for i in at.info)
    assert not drawn(at) and features_cache.load_features(get_run(ckpt, run_id)) is None
