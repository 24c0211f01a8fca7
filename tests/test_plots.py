import json
import random

import pandas as pd
import pytest

from nets import plots
from nets.plots import by_epoch, epochs_frame, loss_panels, loss_points_frame, loss_vs_images, thin, value_axis

OKABE_ITO = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000", "#F0E442"}


def history(n=2, loss=(1.0, 0.9), acc=(0.5, 0.6)):
    return [{"epoch": e, "train_loss": loss[0] / e, "test_loss": loss[1] / e, "val_loss": None,
             "train_acc": acc[0], "test_acc": acc[1], "val_acc": None} for e in range(1, n + 1)]


def walk(spec):
    """Every dict inside a spec."""
    if isinstance(spec, dict):
        yield spec
        for v in spec.values():
            yield from walk(v)
    elif isinstance(spec, list):
        for v in spec:
            yield from walk(v)


def python_format(value, fmt):
    """The d3 formats value_axis uses, in Python (same meaning: '.2f', '.1%')."""
    return format(value, fmt)


def test_thin_keeps_the_last_point_and_bounds_the_size():
    pts = list(range(1001))
    out = thin(pts, 100)
    assert len(out) <= 101 and out[0] == 0 and out[-1] == 1000
    assert thin([1, 2, 3], 100) == [1, 2, 3]


def test_frames_and_charts_keep_their_old_calls():
    acc = epochs_frame(history(), "accuracy", "r1")
    assert sorted(acc["split"].unique()) == ["test", "train"] and len(acc) == 4
    assert set(acc["loss_kind"]) == {""}
    spec = by_epoch(acc, "accuracy").to_dict()
    assert spec["encoding"]["y"]["axis"]["format"].endswith("%")
    pts = loss_points_frame([(64, 2.3), (128, float("nan")), (192, 1.9)])
    assert pts["loss"].tolist() == [2.3, 1.9]  # a NaN point is not drawn
    assert loss_vs_images(pts).to_dict()["mark"]["type"] == "line"
    assert loss_vs_images(pts, title="x").to_dict()["title"] == "x"
    assert by_epoch(epochs_frame([], "loss"), "loss").to_dict()  # no epoch yet: still a valid chart


def test_every_chart_is_tall_enough_and_uses_the_palette():
    charts = [loss_vs_images(loss_points_frame([(64, 2.3), (128, 2.0)])),
              by_epoch(epochs_frame(history(), "loss"), "loss"),
              by_epoch(epochs_frame(history(), "accuracy", "a"), "accuracy", height=100)]
    for chart in charts:
        spec = chart.to_dict()
        assert spec["height"] >= plots.HEIGHT >= 300
        assert spec["config"]["range"]["category"][:len(OKABE_ITO)] == plots.PALETTE
        assert spec["config"]["legend"]["labelLimit"] == 0  # full run names
    assert set(plots.PALETTE) == OKABE_ITO


def test_train_is_dashed_and_another_colour_and_the_legend_says_so():
    spec = by_epoch(epochs_frame(history(), "loss", "r"), "loss").to_dict()
    enc = spec["encoding"]
    assert enc["color"]["field"] == enc["strokeDash"]["field"]  # one legend for both
    labels = enc["strokeDash"]["scale"]["domain"]
    assert labels == ["train (dashed)", "test (solid)"]
    dashes = dict(zip(labels, enc["strokeDash"]["scale"]["range"]))
    colors = dict(zip(labels, enc["color"]["scale"]["range"]))
    assert dashes["train (dashed)"] != [1, 0] and dashes["test (solid)"] == [1, 0]
    assert colors["train (dashed)"] != colors["test (solid)"] and set(colors.values()) <= OKABE_ITO


def test_several_runs_colour_by_run_dash_by_split_with_full_names():
    long = "lenet-mnist-mini-adam-ce-lr0.001-batch64-a-long-name"
    df = pd.concat([epochs_frame(history(), "accuracy", long), epochs_frame(history(), "accuracy", "b")])
    enc = by_epoch(df, "accuracy").to_dict()["encoding"]
    assert enc["color"]["field"] == "run" and enc["color"]["legend"]["labelLimit"] == 0
    assert enc["color"]["legend"]["columns"] == 1
    assert enc["strokeDash"]["field"] == "line" and "train (dashed)" in enc["strokeDash"]["scale"]["domain"]


def test_epoch_axis_is_whole_numbers_even_for_one_epoch():
    one = by_epoch(epochs_frame(history(1), "loss"), "loss").to_dict()["encoding"]["x"]
    assert one["axis"]["format"] == "d" and one["axis"]["tickMinStep"] == 1
    assert one["scale"]["domain"] == [0.5, 1.5] and one["scale"]["nice"] is False  # 1 in the middle
    many = by_epoch(epochs_frame(history(40), "loss"), "loss").to_dict()["encoding"]["x"]
    assert many["axis"]["format"] == "d" and many["axis"]["tickMinStep"] == 1
    assert many["scale"]["domain"] == [1, 40] and many["axis"]["tickCount"] <= 10


def test_a_flat_curve_is_not_zoomed_into_noise():
    domain, ticks, fmt = value_axis([0.08998, 0.09006], "loss")
    assert domain[1] - domain[0] >= plots.MIN_LOSS_SPAN * 0.09 and domain[0] >= 0
    labels = [python_format(t, fmt) for t in ticks]
    assert len(set(labels)) == len(labels) >= 3
    domain, ticks, fmt = value_axis([0.105, 0.11, 0.108], "accuracy")  # once read "10% 11% 11%"
    assert domain[1] - domain[0] >= plots.MIN_ACCURACY_SPAN
    labels = [python_format(t, fmt) for t in ticks]
    assert len(set(labels)) == len(labels) >= 3
    assert value_axis([0.99, 1.0], "accuracy")[0][1] == 1.0  # never above 100 %
    assert value_axis([0.0, 0.01], "accuracy")[0][0] == 0.0   # never below 0 %
    assert value_axis([float("nan"), float("inf")], "loss")[0][0] == 0.0  # nothing finite: a plain axis


@pytest.mark.parametrize("kind", ["loss", "accuracy"])
def test_ticks_never_print_alike_and_cover_the_data(kind):
    rng = random.Random(0)
    for _ in range(300):
        scale = 1.0 if kind == "accuracy" else 10 ** rng.uniform(-4, 1)
        a, b = sorted(rng.uniform(0, 1) * scale for _ in range(2))
        if kind == "accuracy":
            b = a + (b - a) * rng.choice([1, 0.01, 0.0001])
        domain, ticks, fmt = value_axis([a, b], kind)
        labels = [python_format(t, fmt) for t in ticks]
        assert len(set(labels)) == len(labels) >= 2, (a, b, labels)
        assert domain[0] <= a and b <= domain[1] and domain[0] >= 0
        if kind == "accuracy":
            assert domain[1] <= 1 and domain[1] - domain[0] >= plots.MIN_ACCURACY_SPAN - 1e-12


def test_cross_entropy_and_squared_error_never_share_an_axis():
    df = pd.concat([epochs_frame(history(), "loss", "a", "ce"),
                    epochs_frame(history(loss=(0.09, 0.08)), "loss", "b", "mse")])
    spec = by_epoch(df, "loss", "Loss").to_dict()
    panels = spec["vconcat"]
    assert [p["title"] for p in panels] == ["cross-entropy", "squared error"]
    assert spec["resolve"]["scale"]["y"] == "independent"
    assert [p["encoding"]["y"]["title"] for p in panels] == ["loss (cross-entropy)", "loss (squared error)"]
    separate = [c.to_dict() for c in loss_panels(df, "Loss")]
    assert [s["title"] for s in separate] == ["Loss: cross-entropy", "Loss: squared error"]
    assert all(s["height"] >= 300 for s in separate)
    single = loss_panels(epochs_frame(history(), "loss", "a", "ce"))
    assert len(single) == 1 and single[0].to_dict()["encoding"]["y"]["title"] == "loss (cross-entropy)"
    assert by_epoch(epochs_frame(history(), "loss"), "loss", loss_kind="mse").to_dict()[
        "encoding"]["y"]["title"] == "loss (squared error)"


def test_no_none_anywhere_a_domain_goes():
    df = epochs_frame(history(1), "accuracy")
    for chart in (by_epoch(df, "accuracy"), loss_vs_images(loss_points_frame([]))):
        spec = chart.to_dict()  # validates against the Vega-Lite schema
        assert all(d.get("domain", []) is not None for d in walk(spec))
        assert "NaN" not in json.dumps(spec)


def test_a_diverging_loss_is_drawn_on_a_log_axis():
    from nets.plots import exploding
    blowing_up = loss_points_frame([(64, 2.3), (128, 40.0), (192, 9e5), (256, 1.5e22)])
    spec = loss_vs_images(blowing_up).to_dict()
    assert spec["encoding"]["y"]["scale"]["type"] == "log" and "log scale" in spec["encoding"]["y"]["title"]
    calm = loss_vs_images(loss_points_frame([(64, 2.3), (128, 1.1), (192, 0.4)])).to_dict()
    assert calm["encoding"]["y"]["scale"].get("type") != "log"
    assert exploding([0.1, 200.0]) and not exploding([0.1, 50.0]) and not exploding([0.0, 1e9])
