"""The live panel's exchange with the student's browser: what the page sends it (the network, points and switches) and what it sends back (the network as it trained).

While Play is on, the browser trains (web/nn.js: fast.py's rule in JavaScript) and draws (web/live.js);
the server costs nothing per frame. Every few seconds and at each pause the browser hands back its
network, bookkeeping and loss curve (`apply_sync`), so links with weights, the weight box, Step and the
scenario's verdict read the network the student sees. `version` names the
server's network: it changes when the server changes it (a Step, a typed weight, Reset, new settings),
and the browser then starts from the server's; a sync of an older version is dropped.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nets.playground import features as feats
from nets.playground.state import PlaygroundState
from nets.playground.train import MAX_HISTORY

WEB = Path(__file__).resolve().parent / "web"
SYNC_S = 3.0  # a playing browser hands its network back this often: 30 students cost the server ~10 page runs a second


def script() -> str:
    """The component's one ES module: the training rule, then the panel (whose default export mounts it)."""
    return (WEB / "nn.js").read_text() + "\n" + (WEB / "live.js").read_text()


def version(state: PlaygroundState) -> str:
    return f"{state.uid}:{state.edits}"


def _points(xy: np.ndarray, y: np.ndarray) -> list[list[float]]:
    return [[float(u), float(v), float(t)] for (u, v), t in zip(xy, y)]


def panel_data(state: PlaygroundState, panel: str, playing: bool, discretize: bool = False, show_test: bool = False,
               planes: bool = False, sync_s: float = SYNC_S, stop_at: int | None = None) -> dict:
    """Everything the browser needs to train and draw this network (JSON: lists and numbers). `stop_at`: an
    epoch at which the browser stops by itself and hands the network back, recording every epoch until then
    (a scenario's verdict reads the first epochs as TF Playground would show them)."""
    net, d = state.net, state.data
    return {
        "id": panel, "version": version(state), "playing": bool(playing), "discretize": bool(discretize),
        "show_test": bool(show_test), "planes": bool(planes), "sync_s": float(sync_s),
        "stop_at": None if stop_at is None else int(stop_at),
        "lr": float(state.cfg.learning_rate), "batch": int(state.cfg.batch_size), "classes": int(d.classes),
        "features": list(state.cfg.features), "labels": [feats.FEATURES[f][0] for f in state.cfg.features],
        "net": {"widths": [int(w) for w in net.widths], "activation": net.activation, "loss": net.loss,
                "classes": int(net.classes), "dropout": float(net.dropout), "regularization": net.regularization,
                "reg_rate": float(net.reg_rate), "params": _floats(net.params), "seed": int(state.batches % 2**31) + 1,
                "bn": [{"gamma": _floats(s["gamma"]), "beta": _floats(s["beta"]), "mean": _floats(s["mean"]),
                        "var": _floats(s["var"]), "count": int(s["count"])} for s in net.bn]},
        "points": _points(d.train_x, d.train_y), "test_points": _points(d.test_x, d.test_y),
        "order": [int(i) for i in state.order], "position": int(state.position), "epoch": int(state.epoch),
        "batches": int(state.batches), "history": [[_json(v) for v in row] for row in state.history],
    }


def _json(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None  # JSON has no NaN: a diverged loss travels as null


def _floats(a) -> list[float | None]:
    return [_json(float(v)) for v in np.asarray(a).ravel()]


def _array(values, size: int) -> np.ndarray | None:
    """A list of numbers (null: NaN) of exactly `size`, else None."""
    if not isinstance(values, list) or len(values) != size:
        return None
    try:
        return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        return None


def apply_sync(state: PlaygroundState, sync) -> bool:
    """The browser's network, bookkeeping and curve into the server's state, if it is of this state's
    version and well formed (anything else, from a stale tab or a hand-made message, is dropped);
    whether it was taken. The PyTorch copy follows, for the weight box and links. (A sync with
    "stopped": the browser stopped at `stop_at` by itself; the page reads that.)"""
    if not isinstance(sync, dict) or sync.get("version") != version(state):
        return False
    net, n = state.net, len(state.order)
    params = _array(sync.get("params"), net.params.size)
    bn = sync.get("bn") if isinstance(sync.get("bn"), list) else []
    counts = (sync.get("epoch"), sync.get("position"), sync.get("batches"))
    history = sync.get("history")
    if params is None or len(bn) != len(net.bn) or not all(isinstance(c, int) and c >= 0 for c in counts) \
            or counts[1] > n or not isinstance(history, list) or len(history) > MAX_HISTORY + 1:
        return False
    rows = [_array(row, 3) for row in history]
    stats = [{k: _array(s.get(k), len(ref[k])) for k in ("gamma", "beta", "mean", "var")} if isinstance(s, dict) else {}
             for s, ref in zip(bn, net.bn)]
    if any(r is None for r in rows) or any(v is None for s in stats for v in s.values()) \
            or any(len(s) != 4 or not isinstance(b.get("count"), int) for s, b in zip(stats, bn)):
        return False
    net.params[:] = params
    for ref, s, b in zip(net.bn, stats, bn):
        ref.update(s, count=b["count"])
    state.epoch, state.position, state.batches = counts
    state.history[:] = [tuple(float(v) for v in r) for r in rows]
    net.to_model(state.model)
    return True
