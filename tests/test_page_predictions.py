import json
import shutil
from pathlib import Path

import pagetools
from pagetools import tiny_run

from nets.engine.config import TrainConfig
from nets.text import shown
from nets.runs import create_run, get_run, load_state_dict, save_best, update_run

SHIPPED = Path(__file__).resolve().parent.parent / "checkpoints" / "lenet-mnist-mini"


def train(ckpt, name, **changes):
    return tiny_run(ckpt, name, **changes)


def many_runs(ckpt, n: int = 60) -> str:
    """The shipped LeNet run, made the oldest, and `n` newer runs "filler-00"… with its weights
    (created directly, no training: a few ms each). Returns the shipped run's id."""
    shutil.copytree(SHIPPED, ckpt / SHIPPED.name)
    shipped = get_run(ckpt, SHIPPED.name)
    update_run(shipped, created="2000-01-01 00:00:00")  # also builds the index from the folders
    keep = ("classes", "mean", "std", "input_shape", "num_classes", "params")
    info = {k: shipped.info[k] for k in keep}
    state = load_state_dict(shipped.weights_path)
    for i in range(n):
        run = create_run(ckpt, TrainConfig.from_dict({**shipped.info["config"], "name": f"filler-{i:02d}"}),
                         {**info, "status": "completed"}, run_id=f"filler-{i:02d}")
        save_best(run, state, best={"epoch": 1, "accuracy": 0.5, "split": "test"})
    return shipped.id


def open_page(ckpt, monkeypatch, state=None):
    return pagetools.open_page("pages/predictions.py", ckpt, monkeypatch, state)


def grids(at):
    """Each grid's captions as shown (they are escaped: class names are other people's text)."""
    return [[shown(im.caption) for im in el.proto.imgs] for el in at.get("image")]


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
    (ckpt / "broken" / "run.json").write_text("[]")   # not in the index: never listed
    create_run(ckpt, TrainConfig(model="mlp", hidden=(16,), name="diverged"), {})
    at = open_page(ckpt, monkeypatch)
    assert "No saved run with a model" in at.info[0].value
    assert not at.exception and not at.get("image")


def test_search_finds_a_run_older_than_the_newest_50(ckpt, monkeypatch):
    shipped = many_runs(ckpt)
    at = open_page(ckpt, monkeypatch)
    (picker,) = at.selectbox
    assert len(picker.options) == 50 and picker.value == "filler-59"
    assert "lenet-mnist-mini" not in str(picker.options)  # options are labels: "filler-59 · lenet on mnist-mini"
    assert any(c.value.startswith("The 50 newest of 61 matching runs") for c in at.caption)
    at.text_input(key="predictions_run_search").set_value("LeNet-MNIST").run()   # any case, part of a name
    assert not at.exception and at.selectbox[0].value == shipped
    assert at.session_state["selected_run"] == shipped
    assert at.metric[0].value == "96.1%"  # the shipped run's own test accuracy, on this page
    at.text_input(key="predictions_run_search").set_value("no such run").run()
    assert not at.exception and "No run matches 'no such run'" in at.caption[0].value
    assert at.selectbox[0].value == shipped  # the current run stays
