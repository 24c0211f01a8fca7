"""Playground server cost: one fragment run (train chunk + boundary + thumbnails + PNGs + chart JSON),
the updates per second one core can serve, and CPU seconds per playing student (figures printed).
Run: python tests/bench_playground.py [--dataset spiral] [--hidden 8,8,8,8,8,8] [--updates 20]"""
import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nets.parse import int_list  # noqa: E402
from nets.playground import features as feats  # noqa: E402
from nets.playground import pictures  # noqa: E402
from nets.playground.state import PlaygroundConfig, new_state  # noqa: E402
from nets.playground.train import boundary, neuron_maps, step, weights  # noqa: E402


def png(img) -> int:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return len(buf.getvalue())


def redraw(state) -> int:
    """What pages/playground.py's fragment computes besides training; returns bytes sent."""
    inputs, layers = neuron_maps(state, 20)
    net = pictures.network(inputs, layers, weights(state), list(state.cfg.features), boundary(state, 20))
    d = state.data
    heat = pictures.heatmap(boundary(state, 80), (d.train_x, d.train_y), None, d.classes, size=300)
    rows = [{"epoch": e, "set": s, "loss": v} for e, a, b in np.array(state.history)
            for s, v in (("train", a), ("test", b))]
    return png(net) + png(heat) + len(json.dumps(rows))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="spiral")
    ap.add_argument("--hidden", default="8,8,8,8,8,8")
    ap.add_argument("--updates", type=int, default=20)
    ap.add_argument("--train-s", type=float, default=0.12, help="training per update (the page's TRAIN_S)")
    ap.add_argument("--every-s", type=float, default=0.3, help="the page's run_every (UPDATE_S)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = PlaygroundConfig().changed(dataset=args.dataset, hidden=tuple(int_list(args.hidden, "hidden")),
                                     features=tuple(feats.FEATURES))
    state = new_state(cfg)
    step(state, 50)
    redraw(state)  # warm up
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(200):
        step(state, 1)
    per_batch = (time.perf_counter() - t0) / 200
    times, sent = [], 0
    c1 = time.process_time()
    for _ in range(args.updates):
        t = time.perf_counter()
        sent = redraw(state)
        times.append(time.perf_counter() - t)
    cpu_redraw = (time.process_time() - c1) / args.updates
    draw = float(np.median(times))
    batches = args.train_s / per_batch
    print(f"network {cfg.data.dataset}, features {len(cfg.features)}, hidden {cfg.net.hidden}, batch {cfg.batch_size}")
    print(f"one SGD batch (step + loss record): {per_batch * 1e3:.2f} ms  -> {batches:.0f} batches "
          f"({batches * cfg.batch_size / len(state.train_y):.1f} epochs) per {args.train_s} s chunk")
    print(f"redraw (boundary 80² + thumbnails 20² + 2 PNGs + chart JSON): median {draw * 1e3:.1f} ms, "
          f"max {max(times) * 1e3:.1f} ms, CPU {cpu_redraw * 1e3:.1f} ms, {sent / 1024:.0f} KiB sent")
    update = args.train_s + draw
    print(f"one fragment run: {update * 1e3:.0f} ms server time -> one core serves {1 / update:.1f} updates/s")
    print(f"CPU per playing student (run_every {args.every_s} s): {update / args.every_s:.2f} CPU-s per s; "
          f"redraw only (no training): {draw / args.every_s:.2f} CPU-s per s; "
          f"students per core at that rate: {args.every_s / update:.1f}")


if __name__ == "__main__":
    main()
