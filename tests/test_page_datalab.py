"""The Data lab page under AppTest, through the job service (threads): the training sets drawn before training are
what the sliders say, both sets train as one group and are compared (the sentence, recall per class, the
matrices), the label check is scored against the flips, and bad or refused input says why and trains nothing."""
import json

import pyarrow as pa
import pytest
from pagetools import rerun_until
from streamlit.testing.v1 import AppTest

from nets.datalab import labelcheck
from nets.runs import get_run, list_runs
from nets.text import shown

PAGE = "pages/data_lab.py"


def opened(ckpt, monkeypatch, secrets=None) -> AppTest:
    monkeypatch.setenv("NNLAB_CHECKPOINTS", str(ckpt))
    at = AppTest.from_file("../app.py", default_timeout=120)
    at.secrets.update(secrets or {})
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def quick(at) -> AppTest:
    """An MLP for one epoch: the page's flow is what is tested, not LeNet's accuracy."""
    at.selectbox(key="dl_model").set_value("mlp").run()
    at.number_input(key="dl_epochs").set_value(1).run()
    assert not at.exception, at.exception
    return at


def rows(chart) -> list[dict]:
    if chart.proto.datasets:
        return pa.ipc.open_stream(chart.proto.datasets[0].data.data).read_all().to_pandas().to_dict("records")
    spec = json.loads(chart.proto.spec)
    return next(iter(spec.get("datasets", {}).values()), [])


def button(at, key):
    return next(b for b in at.button if b.key == key)


def test_the_sets_drawn_are_what_the_sliders_say(ckpt, service, monkeypatch):
    at = opened(ckpt, monkeypatch)
    assert at.selectbox(key="dl_dataset").value == "fashion-mnist-mini"  # bundled: works offline
    assert any("30\\% of labels flipped at random" in m.value for m in at.markdown)
    counts = rows(at.get("vega_lite_chart")[0])
    clean = sum(r["images"] for r in counts if r["part"] == "clean set")
    flipped = sum(r["images"] for r in counts if r["part"] == "flipped label")
    assert clean == 5400 and flipped == 1620  # 600 a class less the validation tenth; 30% of them flipped
    at.radio(key="dl_how").set_value("one class to another").run()
    at.selectbox(key="dl_from").set_value(6).run()
    at.selectbox(key="dl_to").set_value(0).run()
    counts = rows(at.get("vega_lite_chart")[0])
    wrong = {r["class"]: r["images"] for r in counts if r["part"] == "flipped label" and r["images"]}
    assert wrong == {"T-shirt/top": 162}  # 30% of the 540 shirts, labelled T-shirt/top
    at.radio(key="dl_kind").set_value("imbalance").run()
    at.multiselect(key="dl_classes").set_value([]).run()
    assert any("Choose at least one class" in i.value for i in at.info) and not at.exception


def test_train_both_compare_and_find_the_flips(ckpt, service, monkeypatch):
    at = quick(opened(ckpt, monkeypatch))
    button(at, "dl_train").click().run()
    rerun_until(at, lambda a: any(m.label == "Modified set" for m in a.metric))
    runs = {r.config.data_mod: r for r in list_runs(ckpt)[0]}
    assert set(runs) == {"", "flip:30"} and all(r.info["group"] for r in runs.values())
    assert runs["flip:30"].info["data_mod"]["flipped"] == 1620
    sentence = [m.value for m in at.markdown if m.value.startswith("####")]
    assert len(sentence) == 1 and "30\\% of labels flipped at random" in sentence[0]
    recall = [r for r in rows(at.get("vega_lite_chart")[1]) if "recall" in r]
    assert {r["run"] for r in recall} == {"clean", "modified"} and len(recall) == 20

    at.radio(key="dl_folds").set_value(3).run()
    button(at, "dl_check").click().run()
    rerun_until(at, lambda a: any(m.label == "Precision" for m in a.metric), timeout=180)
    cleaned = next(r for r in list_runs(ckpt)[0] if r.config.data_mod == "flip:30;clean:3")
    check = labelcheck.load(get_run(ckpt, cleaned.id))
    p, r = check.precision_recall()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Precision"] == f"{p:.0%}" and metrics["Recall"] == f"{r:.0%}"
    assert check.flipped.sum() == 1620 and len(check.labels) == 5400
    captions = [shown(c) for im in at.get("imgs") for c in getattr(im, "captions", [])] or \
               [shown(x.caption) for im in at.get("image") for x in im.proto.imgs]
    assert captions and all(c.startswith("given ") and ("was flipped" in c or "label was right" in c) for c in captions)


def test_a_signed_out_student_trains_nothing(ckpt, service, monkeypatch):
    at = opened(ckpt, monkeypatch, secrets={"class_code": "quiet-owl"})
    button(at, "dl_train").click().run()
    assert any("Sign in" in shown(e.value) for e in at.error) and not list_runs(ckpt)[0]


@pytest.mark.parametrize("kind", ["imbalance", "fewer"])
def test_imbalance_and_fewer_images_describe_their_sets(ckpt, service, monkeypatch, kind):
    at = opened(ckpt, monkeypatch)
    at.radio(key="dl_kind").set_value(kind).run()
    assert not at.exception
    counts = rows(at.get("vega_lite_chart")[0])
    given = {r["class"]: r["images"] for r in counts if r["part"] == "right label"}
    if kind == "imbalance":  # 10% of classes 3 and 5 (Dress, Sandal) kept, the others whole
        assert given["Dress"] == given["Sandal"] == 54 and given["Trouser"] == 540
    else:
        assert set(given.values()) == {50}


def test_the_clean_set_as_it_is_gets_suggestions_not_a_score(ckpt, service, monkeypatch):
    at = quick(opened(ckpt, monkeypatch))
    at.number_input(key="dl_subset").set_value(50).run()  # 500 images: the flow, quickly
    button(at, "dl_train").click().run()
    rerun_until(at, lambda a: any(m.label == "Modified set" for m in a.metric))
    at.radio(key="dl_check_set").set_value("clean").run()
    at.radio(key="dl_folds").set_value(3).run()
    button(at, "dl_check").click().run()
    rerun_until(at, lambda a: any(m.label == "Flags dropped" for m in a.metric), timeout=180)
    labels = [m.label for m in at.metric]
    assert "Precision" not in labels and "Recall" not in labels and "Flipped" not in labels
    assert any("nobody knows which labels are truly wrong" in shown(c.value) for c in at.caption)
    assert next(r for r in list_runs(ckpt)[0] if r.config.data_mod == "clean:3").config.train_per_class == 50
