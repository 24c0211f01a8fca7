"""Issue 20, item 5: in compare mode each activation keeps its colour as the activations appear."""
import json

import pandas as pd

from nets.plots import PALETTE, by_epoch, fixed_colors
from nets.scratch.report import COMPARE_COLORS, COMPARED


def frame(runs):
    rows = [{"epoch": e, "split": s, "value": 0.5 + 0.01 * e, "run": r, "loss_kind": ""}
            for r in runs for e in (1, 2) for s in ("train", "validation")]
    return pd.DataFrame(rows)


def colour_scale(chart) -> dict:
    spec = chart.to_dict()
    return spec["encoding"]["color"]


def test_each_activation_has_one_colour_however_many_have_appeared():
    assert COMPARE_COLORS == dict(zip(COMPARED, PALETTE[:4]))  # stated once, from the palette
    seen = []
    for k in range(1, len(COMPARED) + 1):  # relu alone, then relu and tanh, ... as a comparison runs
        color = colour_scale(by_epoch(frame(COMPARED[:k]), "loss", "Loss", colors=COMPARE_COLORS))
        assert color["field"] == "run"  # coloured by activation from the first one on, not by split
        seen.append(dict(zip(color["scale"]["domain"], color["scale"]["range"])))
    assert all(m == COMPARE_COLORS for m in seen)


def test_without_fixed_colours_a_single_run_is_coloured_by_split_as_before():
    color = colour_scale(by_epoch(frame(["NumPy"]), "accuracy", "Accuracy"))
    assert color["field"] == "line"
    assert "domain" not in json.dumps(colour_scale(by_epoch(frame(["NumPy", "PyTorch"]), "loss", "Loss"))["scale"])


def test_fixed_colors_follow_the_palette_in_order():
    assert fixed_colors(["b", "a"]) == {"b": PALETTE[0], "a": PALETTE[1]}
