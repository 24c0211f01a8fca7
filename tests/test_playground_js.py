"""The browser's Playground training (nets/playground/web/nn.js, under node) against fast.py, the rule the
server trains with (itself held to the PyTorch model and to TF Playground's nn.ts: test_playground_fast.py)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from nets.playground import fast
from nets.playground.state import PlaygroundConfig, new_state
from nets.playground.train import boundary, grid, losses, neuron_maps

NODE = shutil.which("node")
CASE = Path(__file__).parent / "js" / "train_case.js"
pytestmark = pytest.mark.skipif(NODE is None and os.environ.get("NETLAB_REQUIRE_BROWSER") != "1",
                                reason="node is not installed (apt install nodejs)")

CASES = {  # the four classification datasets, and every option of the rule on some of them
    "circle 4-2 tanh": dict(dataset="circle"),
    "xor relu L1": dict(dataset="xor", activation="relu", regularization="L1", reg_rate=0.003, hidden=(5, 3)),
    "gauss sigmoid L2 cross-entropy": dict(dataset="gauss", activation="sigmoid", regularization="L2", reg_rate=0.01,
                                          loss="cross-entropy", learning_rate=0.1),
    "spiral 7 inputs 6x8": dict(dataset="spiral", features=("x1", "x2", "x1^2", "x2^2", "x1x2", "sin x1", "sin x2"),
                                hidden=(8,) * 6),
    "circle batch norm batch 7": dict(dataset="circle", batch_norm=True, batch_size=7, hidden=(4, 3)),
    "4 classes squared": dict(dataset="circle", classes=4, hidden=(6,)),
    "4 classes cross-entropy": dict(dataset="circle", classes=4, loss="cross-entropy", hidden=(6, 4)),
    "regression plane": dict(dataset="plane", hidden=(3,)),
}


def case(cfg: PlaygroundConfig, batches: int) -> tuple[dict, object]:
    """The JSON node reads for a fresh state, and the state (trained here afterwards)."""
    state = new_state(cfg, init_seed=3)
    net = state.net
    g = torch.Generator()
    g.set_state(state.shuffle.get_state())  # the orders fast.step will draw, drawn ahead for the browser's run
    n = len(state.xy[1])
    orders = [torch.randperm(n, generator=g).tolist() for _ in range(batches * cfg.batch_size // n + 2)]
    spec = dict(widths=net.widths, activation=net.activation, loss=net.loss, classes=net.classes,
                dropout=net.dropout, regularization=net.regularization, reg_rate=net.reg_rate,
                params=net.params.tolist(), bn=[{k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in s.items()}
                                                for s in net.bn], seed=1)
    return dict(spec=spec, x=state.xy[0].ravel().tolist(), y=state.xy[1].tolist(), x_test=state.test_xy[0].ravel().tolist(),
                y_test=state.test_xy[1].tolist(), batch=cfg.batch_size, lr=cfg.learning_rate, order=state.order.tolist(),
                position=state.position, epoch=state.epoch, batches=batches, orders=orders,
                features=list(cfg.features)), state


@pytest.mark.parametrize("name", CASES)
def test_the_browser_trains_by_the_servers_rule(name):
    cfg = PlaygroundConfig().changed(**CASES[name])
    batches = 60  # more than two epochs of 25 batches: the reshuffles too
    data, state = case(cfg, batches)
    out = json.loads(subprocess.run([NODE or "node", str(CASE)], input=json.dumps(data), capture_output=True, text=True,
                                    check=True, timeout=60).stdout)
    fast.step(state, state.net, batches)
    np.testing.assert_allclose(out["params"], state.net.params, rtol=1e-7, atol=1e-10)
    assert (out["position"], out["epoch"], out["batches"]) == (state.position, state.epoch, state.batches)
    np.testing.assert_allclose(out["losses"], losses(state), rtol=1e-7, equal_nan=True)
    for s_js, s in zip(out["bn"], state.net.bn):
        np.testing.assert_allclose(s_js["gamma"], s["gamma"], rtol=1e-7)
        np.testing.assert_allclose(s_js["mean"], s["mean"], rtol=1e-7, atol=1e-12)
        assert s_js["count"] == s["count"]
    state.net.to_model(state.model)  # the heat map's values on a 5×5 grid: the browser's against the page's
    np.testing.assert_allclose(np.array(out["grid_out"]).reshape(boundary(state, 5).shape), boundary(state, 5),
                               rtol=1e-4, atol=1e-5)  # the page's are float32
    _, layers = neuron_maps(state, 5)  # every hidden neuron's picture in the diagram, the same way
    for js, a in zip(out["grid_hidden"], layers, strict=True):
        np.testing.assert_allclose(np.array(js).reshape(25, -1).T.reshape(a.shape), a, rtol=1e-4, atol=1e-5)
    assert np.allclose(grid(5)[0], [-6, 6])  # the grid's first point is the top left, as the browser draws it
