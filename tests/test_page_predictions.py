import json

import pagetools
from pagetools import tiny_run

from nets.config import TrainConfig
from nets.runs import create_run, get_run


def train(ckpt, name, **changes):
    return tiny_run(ckpt, name, **changes)


def open_page(ckpt, monkeypatch, state=None):
    return pagetools.open_page("pages/predictions.py", ckpt, monkeypatch, state)


def grids(at):
    return [[im.caption for im in el.proto.imgs] for el in at.get("image")]


def test_grids_pairs_and_per_class_accuracy(ckpt, monkeypatch):
    run_id = train(ckpt, "tiny")
    at = open_page(ckpt, monkeypatch)
    assert at.session_state["selected_run"] == run_id
    info = get_run(ckpt, run_id).info
    assert at.metric[0].value == f"{info['test']['accuracy']:.1%}"  # same model, same test set
    first, mistakes, worst = grids(at)
    assert len(first) == 20 and all(c[0] in "✓✗" for c in first)
    assert len(mistakes) == 20 and all(c.startswith("✗") for c in mistakes)
    assert len(worst) == 20 and all("loss" in c for c in worst)
    losses = [float(c.rsplit("loss ", 1)[1]) for c in worst]
    assert losses == sorted(losses, reverse=True)
    pairs = at.dataframe[0].value
    assert list(pairs.columns[:3]) == ["true", "predicted", "images"]
    assert pairs["images"].is_monotonic_decreasing and (pairs["true"] != pairs["predicted"]).all()
    (bars,) = at.get("vega_lite_chart")
    spec = json.loads(bars.proto.spec)
    bar = spec["layer"][0]
    assert bar["mark"]["type"] == "bar" and bar["encoding"]["y"]["field"] == "accuracy"
    floor = bar["encoding"]["y"]["scale"]["domain"][0]  # zoomed in, and the axis says where it starts
    assert floor == 0 or f"starts at {floor:.0%}" in bar["encoding"]["y"]["title"]
    assert spec["height"] >= 300


def test_the_chosen_run_is_shared_with_the_runs_page(ckpt, monkeypatch):
    older = train(ckpt, "older")
    newer = train(ckpt, "newer")
    at = open_page(ckpt, monkeypatch, {"selected_run": older})
    assert at.selectbox[0].value == older
    at.selectbox[0].set_value(newer).run()
    assert at.session_state["selected_run"] == newer and not at.exception


def test_no_usable_run_and_broken_folders(ckpt, monkeypatch):
    (ckpt / "broken").mkdir()
    (ckpt / "broken" / "run.json").write_text("[]")
    create_run(ckpt, TrainConfig(model="mlp", hidden=(16,), name="diverged"), {})
    at = open_page(ckpt, monkeypatch)
    assert "not a Neural Net Lab run" in at.warning[0].value
    assert "No saved run with a model" in at.info[0].value
    assert not at.get("image")
