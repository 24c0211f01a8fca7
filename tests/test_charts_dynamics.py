"""The layer statistics drawn (nets/charts/dynamics.py) on histories made by hand: frames, log values, the −3 line,
independent y-axes, and the heat map's PNG."""
import io
import json
import math

import numpy as np
import pandas as pd
from dynamicstools import synthetic
from PIL import Image

from nets.charts import dynamics as cd
from nets.engine.bins import BINS
from nets.plots import PALETTE

TEN = tuple(f"fc{i}" for i in range(1, 11))


def spec(chart) -> dict:
    return json.loads(chart.to_json())


def test_frames_hold_each_layer_in_order_with_the_metric_as_its_axis_shows_it():
    d = synthetic(records=20, layers=TEN, grad_first_over_last=1e-6, update_ratio=1e-3)
    grads = cd.metric_frame(d, "gradient norm", run="a")
    assert list(grads.columns) == cd.COLUMNS and list(dict.fromkeys(grads["layer"])) == list(TEN)
    assert len(grads) == 20 * 10 and set(grads["run"]) == {"a"}
    first, last = (grads[grads["layer"] == n]["value"].to_numpy() for n in ("fc1", "fc10"))
    assert np.allclose(first / last, 1e-6, rtol=1e-3)
    ratio = cd.metric_frame(d, "update ratio")
    assert np.allclose(ratio["value"], -3.0, atol=1e-3)  # log10 of 1e-3
    picked = cd.metric_frame(d, "gradient norm", layers=cd.picked(list(TEN), cd.LIVE_LAYERS))
    assert list(dict.fromkeys(picked["layer"]))[0] == "fc1" and list(dict.fromkeys(picked["layer"]))[-1] == "fc10"
    assert picked["layer"].nunique() <= cd.LIVE_LAYERS


def test_what_a_log_axis_cannot_show_is_left_out_not_drawn_as_zero():
    d = synthetic(records=6, layers=("fc1", "fc2"), dead=0.25)
    d.grad_norm[2, 0] = 0.0
    d.grad_norm[3, 0] = np.nan
    assert len(cd.metric_frame(d, "gradient norm")) == 6 * 2 - 2
    dead = cd.metric_frame(d, "dead share")
    assert np.allclose(dead["value"], 0.25) and len(dead) == 6
    assert cd.metric_frame(d, "saturated share").empty  # NaN for ReLUs: nothing to saturate


def test_live_lines_are_small_log_scaled_and_the_update_ratio_has_its_minus_three_rule():
    d = synthetic(records=240, layers=TEN, grad_first_over_last=1e-8)
    grad = spec(cd.layer_lines(d, "gradient norm", "Gradient norm per layer"))
    assert grad["encoding"]["y"]["scale"]["type"] == "log"
    (rows,) = grad["datasets"].values()
    assert len({r["layer"] for r in rows}) == cd.LIVE_LAYERS and len(rows) <= cd.LIVE_LAYERS * cd.LIVE_LINE_POINTS
    assert grad["encoding"]["color"]["scale"]["range"] == PALETTE[:cd.LIVE_LAYERS]
    ratio = spec(cd.layer_lines(d, "update ratio", "Update ratio per layer"))
    rule = next(layer for layer in ratio["layer"] if layer["mark"]["type"] == "rule")
    assert rule["mark"]["strokeDash"] and ratio["datasets"][rule["data"]["name"]] == [{"value": -3.0}]
    assert "rule" not in json.dumps(grad["mark"])


def test_small_multiples_give_each_layer_its_own_y_axis_and_colour_the_runs():
    a = synthetic(records=30, layers=TEN, grad_first_over_last=1e-6)
    b = synthetic(records=30, layers=TEN, grad_first_over_last=1e-1, update_ratio=1e-2)
    df = pd.concat([cd.metric_frame(a, "update ratio", "sigmoid"), cd.metric_frame(b, "update ratio", "relu")])
    s = spec(cd.small_multiples(df, "update ratio", list(TEN), ["sigmoid", "relu"]))
    assert s["resolve"]["scale"]["y"] == "independent" and s["facet"]["field"] == "layer"
    assert s["facet"]["sort"] == list(TEN)
    lines, rule = s["spec"]["layer"]
    assert lines["encoding"]["color"]["scale"]["domain"] == ["relu", "sigmoid"]  # sorted, as the curves colour runs
    assert rule["mark"]["type"] == "rule" and {"calculate": "-3.0", "as": "value"} in rule["transform"]
    one = spec(cd.small_multiples(cd.metric_frame(a, "gradient norm", "a"), "gradient norm", list(TEN), ["a"]))
    assert len(one["spec"]["layer"]) == 1 and one["spec"]["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"


def png(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_the_heat_map_is_a_png_a_strip_per_layer_a_column_per_step():
    d = synthetic(records=40, layers=TEN)
    three = png(cd.heat_png(d, "gradients", layers=[0, 4, 9], width=400))
    six = png(cd.heat_png(d, "gradients", layers=cd.picked(list(TEN), 6), width=400))
    assert six.shape[0] > three.shape[0] and three.shape[1] == six.shape[1]
    assert three.shape[1] >= 40 * (400 // 40)  # whole-pixel columns: 40 steps of 10 px
    thinned = png(cd.heat_png(d, "gradients", layers=[0], width=400, columns=10))
    assert thinned.shape[1] < three.shape[1]  # at most MAX_COLUMN_PX a column
    acts = png(cd.heat_png(synthetic(records=5, site_kind="sigmoid", saturated=0.5), "activations"))
    assert acts.shape[0] > 2 * BINS


def test_the_heat_maps_colours_follow_the_counts_each_column_scaled_to_its_fullest_bin():
    d = synthetic(records=2, layers=("fc1", "fc2"))
    d.hist_grad[:] = 0
    d.hist_grad[0, 0, 20] = 1000   # step 1: one full bin
    d.hist_grad[1, 0, 20] = 3      # step 2: the same bin, few values: still the column's fullest
    d.hist_grad[1, 0, 30] = 1
    shade = cd.shades(d.hist_grad[:, 0])
    assert shade[0, 20] == shade[1, 20] == 1.0 and 0 < shade[1, 30] < 1 and shade[0, 30] == 0
    assert (cd.viridis(np.array([1.0])) == [0xfd, 0xe7, 0x25]).all()
    before = png(cd.heat_png(d, "gradients", width=100))
    d.hist_grad[1, 0, 30] = 3
    after = png(cd.heat_png(d, "gradients", width=100))
    assert before.shape == after.shape and (before != after).any()
    yellow = (np.abs(before.astype(int) - [0xfd, 0xe7, 0x25]).sum(axis=2) < 10).sum()
    assert yellow > 0


def test_bin_labels_sit_where_the_bins_are():
    labels = dict((text, pos) for pos, text in cd.bin_labels("log"))
    assert labels["1e-10"] == 2 and math.isclose(labels["1e2"], BINS - 1)
    assert [t for _, t in cd.bin_labels("tanh")] == ["-1", "0", "1"]
