import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from nets.engine.data import ImageData
from nets.engine.evaluate import Evaluation
from nets.engine.losses import compute_loss
from nets.charts import confusion, grids
from nets.plots import curve_frames
from nets.runs import compare
from nets.runs import CheckpointError, Run
from nets.runs.rows import row_of
from nets.runs.table import runs_table

CLASSES = ["cat", "dog", "fox"]


def make_eval(labels, preds, classes=CLASSES, probs=None):
    labels, preds = torch.tensor(labels), torch.tensor(preds)
    if probs is None:
        probs = torch.nn.functional.one_hot(preds, len(classes)).float() * 0.7 + 0.1
    acc = (labels == preds).float().mean().item()
    return Evaluation(0.0, acc, labels, preds, torch.as_tensor(probs, dtype=torch.float32), list(classes))


# ----------------------------------------------------------------------------- matrices
def test_normalise_rows_sum_to_one_and_empty_rows_stay_zero():
    n = compare.normalise(torch.tensor([[3, 1, 0], [0, 0, 0], [1, 1, 2]]))
    assert n[0].tolist() == pytest.approx([0.75, 0.25, 0.0])
    assert n[1].tolist() == [0.0, 0.0, 0.0]
    assert n[2].sum().item() == pytest.approx(1.0)
    assert not torch.isnan(n).any()


def test_confusion_difference_matrix_and_class_lists():
    # A: cat 2/4, dog 2/2, fox 1/2.  B: cat 4/4, dog 1/2, fox 1/2.
    labels = [0, 0, 0, 0, 1, 1, 2, 2]
    a = make_eval(labels, [0, 0, 1, 2, 1, 1, 2, 0])
    b = make_eval(labels, [0, 0, 0, 0, 1, 0, 0, 2])
    d = compare.confusion_difference(a, b)
    plain_difference = compare.normalise(b.confusion) - compare.normalise(a.confusion)
    off = ~torch.eye(3, dtype=torch.bool)
    assert torch.allclose(d.matrix.diagonal(), plain_difference.diagonal())       # B − A on the diagonal
    assert torch.allclose(d.matrix[off], -plain_difference[off])                  # A − B off it
    assert d.matrix[0, 0].item() == pytest.approx(0.5) and d.matrix[1, 1].item() == pytest.approx(-0.5)
    assert [c.name for c in d.better] == ["cat"] and d.better[0].delta == pytest.approx(0.5)
    assert [c.name for c in d.worse] == ["dog"]  # fox is unchanged: in neither list
    assert str(d.better[0]) == "cat: 50% → 100% (+50 points)"
    text = " ".join(d.summary("SGD", "Adam"))
    assert "Adam is better than SGD on cat" in text and "worse than SGD on dog" in text
    same = compare.confusion_difference(a, a)
    assert not same.better and not same.worse and "equally" in same.summary()[0]


def test_better_classes_sorted_by_size_of_change():
    labels = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    a = make_eval(labels, [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0])         # all wrong
    b = make_eval(labels, [0, 1, 1, 1, 1, 1, 1, 0, 2, 2, 2, 2])         # +25, +75, +100 points
    assert [c.name for c in compare.confusion_difference(a, b).better] == ["fox", "dog", "cat"]
    assert [c.name for c in compare.confusion_difference(b, a).worse] == ["fox", "dog", "cat"]


def test_difference_refuses_different_classes():
    a = make_eval([0, 1], [0, 1])
    b = make_eval([0, 1], [0, 1], classes=["x", "y", "z"])
    with pytest.raises(ValueError, match="different classes"):
        compare.confusion_difference(a, b)


def test_confusion_frame_long_format():
    f = confusion.confusion_frame(torch.tensor([[3, 1], [0, 2]]), ["a", "b"], normalised=False)
    assert len(f) == 4
    row = f[(f["true"] == "a") & (f["predicted"] == "b")].iloc[0]
    assert (row["true_index"], row["predicted_index"], row["value"], row["label"]) == (0, 1, 1.0, "1")
    n = confusion.confusion_frame(compare.normalise([[3, 1], [0, 2]]), ["a", "b"], normalised=True)
    assert n["label"].tolist() == ["75%", "25%", "0%", "100%"]
    s = confusion.confusion_frame(torch.tensor([[0.25, -0.25], [0.0, 0.0]]), ["a", "b"], True, signed=True)
    assert s["label"].tolist()[:2] == ["+25%", "-25%"]


def _params(spec):
    """Every parameter in a (possibly layered) Vega-Lite spec."""
    found = list(spec.get("params", []))
    for layer in spec.get("layer", []):
        found += _params(layer)
    return found


def test_heatmap_has_a_click_selection_on_the_cell_fields():
    f = confusion.confusion_frame(torch.eye(3), CLASSES, normalised=True)
    spec = confusion.heatmap(f, CLASSES, normalised=True).to_dict()
    (param,) = [p for p in _params(spec) if p["name"] == confusion.CELL_PARAM]
    assert param["select"]["type"] == "point"
    assert param["select"]["fields"] == ["true_index", "predicted_index"]
    diff = confusion.heatmap(f, CLASSES, difference=True).to_dict()
    assert "redblue" in json.dumps(diff)


def _domains(spec):
    if isinstance(spec, dict):
        if "domain" in spec:
            yield spec["domain"]
        for v in spec.values():
            yield from _domains(v)
    elif isinstance(spec, list):
        for v in spec:
            yield from _domains(v)


@pytest.mark.parametrize("normalised", [True, False])
def test_heatmap_counts_and_fractions_are_valid_specs(normalised):
    # Counts once passed domain=None, which Altair rejects when the chart is drawn.
    counts = torch.tensor([[30, 2, 0], [5, 20, 1], [0, 0, 12]])
    cm = compare.normalise(counts) if normalised else counts
    spec = confusion.heatmap(confusion.confusion_frame(cm, CLASSES, normalised), CLASSES, normalised=normalised).to_dict()
    (domain,) = [d for d in _domains(spec) if d is not None]
    assert None not in _domains(spec)
    assert domain == ([0, 1] if normalised else [0, 30.0])
    assert spec["width"] == spec["height"] >= 300
    assert "cell" in json.dumps(spec)
    empty = confusion.confusion_frame(torch.zeros(3, 3), CLASSES, normalised)  # a class-less test set
    assert confusion.heatmap(empty, CLASSES, normalised=normalised).to_dict()


def test_heatmap_slants_long_class_names():
    cifar = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    spec = confusion.heatmap(confusion.confusion_frame(torch.eye(10), cifar, True), cifar, normalised=True).to_dict()
    axes = [layer["encoding"]["x"]["axis"] for layer in spec["layer"]]
    assert all(a["labelAngle"] == -45 and a["labelOverlap"] is False for a in axes)  # every name shown
    digits = [str(d) for d in range(10)]
    spec = confusion.heatmap(confusion.confusion_frame(torch.eye(10), digits, True), digits, normalised=True).to_dict()
    assert spec["layer"][0]["encoding"]["x"]["axis"]["labelAngle"] == 0


# ----------------------------------------------------------------------------- selections
def _streamlit_state(ui_value):
    """The object st.altair_chart returns, built by Streamlit's own deserializer from what the
    browser sends (the point list of Vega-Lite's vlPoint.or)."""
    from streamlit.elements.vega_charts import VegaLiteStateSerde
    return VegaLiteStateSerde([confusion.CELL_PARAM]).deserialize(ui_value)


def test_parse_cell_selection_on_streamlit_states():
    clicked = json.dumps({"selection": {"cell": [{"true_index": 3, "predicted_index": 5}]}})
    assert confusion.parse_cell_selection(_streamlit_state(clicked)) == (3, 5)
    assert confusion.parse_cell_selection(_streamlit_state(None)) is None  # nothing clicked yet
    cleared = json.dumps({"selection": {"cell": {}}})
    assert confusion.parse_cell_selection(_streamlit_state(cleared)) is None
    shift = json.dumps({"selection": {"cell": [{"true_index": 1, "predicted_index": 1},
                                               {"true_index": 2, "predicted_index": 0}]}})
    assert confusion.parse_cell_selection(_streamlit_state(shift)) == (2, 0)  # the latest click


@pytest.mark.parametrize("state", [
    None, {}, {"selection": {}}, {"selection": {"other": [{"true_index": 1, "predicted_index": 1}]}},
    {"selection": {"cell": [{"_vgsid_": 4}]}},
    {"selection": {"cell": [{"true_index": "x", "predicted_index": 1}]}},
    {"selection": {"cell": [{"true_index": 1.5, "predicted_index": 1}]}},
    {"selection": {"cell": [{"true_index": -1, "predicted_index": 1}]}},
    {"selection": {"cell": [{"true_index": True, "predicted_index": 1}]}},
])
def test_parse_cell_selection_rejects_other_shapes(state):
    assert confusion.parse_cell_selection(state) is None


def test_parse_cell_selection_bounds_and_numbers():
    state = {"selection": {"cell": [{"true_index": 2.0, "predicted_index": 9}]}}
    assert confusion.parse_cell_selection(state) == (2, 9)
    assert confusion.parse_cell_selection(state, k=10) == (2, 9)
    assert confusion.parse_cell_selection(state, k=9) is None


# ----------------------------------------------------------------------------- losses
def test_highest_loss_order_and_values():
    probs = torch.tensor([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    ev = make_eval([0, 0, 0, 2], [0, 1, 0, 2], probs=probs)
    idx, losses = compare.highest_loss(ev, 3)
    assert idx == [1, 2, 3]  # p(true) = 0.2, 0.6, 0.8; image 0 (0.9) is the easiest
    assert losses == pytest.approx([-math.log(0.2), -math.log(0.6), -math.log(0.8)], rel=1e-5)
    assert compare.highest_loss(ev, 0) == ([], [])


@pytest.mark.parametrize("loss", ["ce", "mse"])
def test_per_example_loss_from_probabilities_matches_the_logits(loss):
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(50, 4, generator=g) * 3
    y = torch.randint(0, 4, (50,), generator=g)
    probs = torch.softmax(logits, 1)
    ev = Evaluation(0.0, 0.0, y, probs.argmax(1), probs, list("abcd"))
    direct = compute_loss(loss, logits, y, reduction="none")
    assert torch.allclose(compare.per_example_loss(ev, loss), direct, atol=1e-5)
    assert torch.allclose(compare.per_example_loss(ev, loss, logits=logits), direct)
    assert compare.highest_loss(ev, 5, loss)[0] == direct.argsort(descending=True)[:5].tolist()


def test_confused_pairs_rows():
    ev = make_eval([0, 0, 0, 0, 1, 1], [1, 1, 0, 2, 1, 0])
    rows = compare.confused_pairs(ev, 10)
    assert rows[0] == {"true": "cat", "predicted": "dog", "images": 2, "share of the class": 0.5}
    assert {(r["true"], r["predicted"]) for r in rows} == {("cat", "dog"), ("cat", "fox"), ("dog", "cat")}


# ----------------------------------------------------------------------------- images
def test_image_grid_items_upscale_and_mark_predictions():
    ev = make_eval([0, 1, 2], [0, 2, 2])
    grey = torch.arange(3 * 28 * 28, dtype=torch.int64).remainder(256).to(torch.uint8).view(3, 1, 28, 28)
    items = grids.image_grid_items(ev, [1, 0], grey, notes=["loss 2.00", "loss 0.10"])
    (im1, cap1), (im0, cap0) = items
    assert im1.shape == (84, 84) and im1.dtype == np.uint8
    assert im1[0, 0] == im1[2, 2] == grey[1, 0, 0, 0].item()  # whole-factor nearest neighbours
    assert cap1 == "✗ true dog, predicted fox · loss 2.00" and cap0.startswith("✓ true cat, predicted cat")
    rgb = torch.zeros(3, 3, 32, 32, dtype=torch.uint8)
    rgb[2, 0] = 255  # red channel
    (im, _), = grids.image_grid_items(ev, [2], rgb)
    assert im.shape == (64, 64, 3) and im[5, 5].tolist() == [255, 0, 0]


# ----------------------------------------------------------------------------- runs
def fake_run(run_id, name=None, **info):
    base = {"id": run_id, "config": {"dataset": "mnist-mini", "model": "mlp", "optimizer": "adam",
                                     "loss": "mse"}, "created": "2026-01-01 10:00:00"}
    if name:
        base["name"] = name
    return Run(run_id, None, {**base, **info})


def test_runs_table_fields():
    done = fake_run("r1", "first", status="completed", params=1234, seconds=3.5,
                    best={"epoch": 4, "accuracy": 0.91, "split": "val"}, test={"accuracy": 0.9, "loss": 0.3})
    training = fake_run("r2", status="running", best={"epoch": 1, "accuracy": 0.5, "split": "test"})
    by_val = fake_run("r3", best={"epoch": 2, "accuracy": 0.8, "split": "val"})
    rows = runs_table([row_of(r.id, r.info, has_model=True, nbytes=0) for r in (done, training, by_val)])
    assert rows[0] == {"name": "first", "id": "r1", "dataset": "mnist-mini", "model": "mlp",
                       "optimizer": "adam", "loss": "mse", "test accuracy": 0.9, "best epoch": 4,
                       "parameters": 1234, "seconds": 3.5, "status": "completed",
                       "created": "2026-01-01 10:00:00", "starred": False}
    assert rows[1]["name"] == "r2" and rows[1]["test accuracy"] == 0.5  # picked on test: a test figure
    assert rows[2]["test accuracy"] is None and rows[2]["best epoch"] == 2  # a validation figure is not


def test_run_labels_and_curves():
    hist = [{"epoch": e, "train_loss": 1 / e, "test_loss": 1.1 / e, "val_loss": None, "train_acc": 0.5,
             "test_acc": 0.6, "val_acc": None} for e in (1, 2)]
    runs = [fake_run("20260101-aaaaaa", "same", history=hist), fake_run("20260101-bbbbbb", "same", history=hist),
            fake_run("c", "other", history=[])]
    labels = compare.run_labels(runs)
    assert len(set(labels.values())) == 3 and labels["c"] == "other"
    loss, acc = curve_frames(runs)
    assert len(loss) == 8 and set(loss["split"]) == {"train", "test"}
    assert len(acc) == 4 and set(acc["split"]) == {"test"}  # train accuracy left out
    assert set(acc["run"]) == {labels["20260101-aaaaaa"], labels["20260101-bbbbbb"]}
    assert set(loss["loss_kind"]) == {"mse"}  # from each run's TrainConfig.loss


def test_evaluate_run_uses_the_runs_normalisation_and_checks_shapes():
    # A 1×1×2 "image": the model predicts class 1 exactly when the normalised second pixel is positive.
    model = nn.Sequential(nn.Flatten(), nn.Linear(2, 2))
    with torch.no_grad():
        model[1].weight.copy_(torch.tensor([[0.0, -1.0], [0.0, 1.0]]))
        model[1].bias.zero_()
    x = torch.tensor([[[[0, 40]]], [[[0, 200]]]], dtype=torch.uint8)
    y = torch.tensor([0, 1])
    data = ImageData("toy", ["lo", "hi"], x, y, x, y, mean=[0.0], std=[1.0])
    info = {"config": {"loss": "ce"}, "input_shape": [1, 1, 2], "classes": ["lo", "hi"],
            "mean": [0.5], "std": [1.0]}  # with mean 0.5, 40/255 is below and 200/255 above
    ev = compare.evaluate_run(Run("toy", None, info), model, data)
    assert ev.predictions.tolist() == [0, 1] and ev.accuracy == 1.0 and ev.classes == ["lo", "hi"]
    with pytest.raises(CheckpointError, match="shape"):
        compare.evaluate_run(Run("toy", None, {**info, "input_shape": [3, 1, 2]}), model, data)
    with pytest.raises(CheckpointError, match="classes"):
        compare.evaluate_run(Run("toy", None, {**info, "classes": ["a", "b", "c"]}), model, data)


def test_per_class_chart_data():
    ev = make_eval([0, 0, 1, 2], [0, 1, 1, 1])
    spec = confusion.per_class_chart(ev).to_dict()
    values = list(spec["datasets"].values())[0]
    assert [v["accuracy"] for v in values] == [0.5, 1.0, 0.0]
    y = spec["layer"][0]["encoding"]["y"]
    assert y["scale"]["domain"] == [0.0, 1] and y["title"] == "accuracy"  # a class at 0 %: no zoom
    assert spec["height"] >= 300


def test_per_class_chart_zooms_in_and_says_so():
    labels = [0] * 100 + [1] * 100 + [2] * 100
    preds = [0] * 89 + [1] * 11 + [1] * 98 + [0] * 2 + [2] * 95 + [0] * 5  # 89 %, 98 %, 95 %
    spec = confusion.per_class_chart(make_eval(labels, preds)).to_dict()
    y = spec["layer"][0]["encoding"]["y"]
    assert y["scale"]["domain"] == [0.8, 1] and y["title"] == "accuracy (axis starts at 80%)"
    assert spec["layer"][0]["mark"]["clip"] is True  # bars below the floor are cut, not drawn outside
    assert confusion.accuracy_floor([0.99, 1.0]) == 0.9 and confusion.accuracy_floor([0.3, 0.9]) == 0.0
    assert confusion.accuracy_floor([0.5]) == 0.4 and confusion.accuracy_floor([]) == 0.0


def test_contact_sheet_places_images_in_rows():
    grey = [np.full((4, 5), i, np.uint8) for i in range(11)]
    sheet = grids.contact_sheet(grey, per_row=4, gap=1)
    assert sheet.shape == (3 * 4 + 2, 4 * 5 + 3) and sheet.dtype == np.uint8
    assert sheet[0, 0] == 0 and sheet[5, 0] == 4 and sheet[10, 6 * 2 + 1] == 10 and sheet[0, 5] == 255
    rgb = grids.contact_sheet([np.zeros((2, 2, 3), np.uint8)] * 3, per_row=8)
    assert rgb.shape == (2, 3 * 2 + 2 * 2, 3)  # fewer than a row: only as wide as needed
    with pytest.raises(ValueError):
        grids.contact_sheet([])
