"""Playground server cost per live update, as pages/playground.py's fragment does it: a train chunk
(nets.playground.train.train_for), then the redraw (boundary, thumbnails, diagram, heat map, JPEG encoding
as st.image does for RGB pictures, chart JSON). Prints the train and draw split, the updates per second
one student gets, the CPU seconds per second per playing student, and how many players one core holds.
Run: python tests/bench_playground.py [--dataset spiral] [--hidden 8,8,8,8,8,8] [--updates 30]"""
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
from nets.playground.train import CHUNK_S, boundary, epoch_batches, neuron_maps, step, train_for, weights  # noqa: E402

UPDATE_S = 0.2  # pages/playground.py's run_every


def jpeg(img) -> int:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)  # what st.image sends for an RGB PIL image
    return len(buf.getvalue())


def redraw(state) -> int:
    """What the page's fragment computes besides training; returns bytes sent."""
    inputs, layers = neuron_maps(state, 20)
    net = pictures.network(inputs, layers, weights(state), list(state.cfg.features), boundary(state, 20))
    d = state.data
    heat = pictures.heatmap(boundary(state, 80), (d.train_x, d.train_y), None, d.classes, size=300)
    rows = [{"epoch": round(e, 3), "set": s, "loss": round(v, 5)} for e, a, b in state.history
            for s, v in (("train", a), ("test", b))]
    return jpeg(net) + jpeg(heat) + len(json.dumps(rows))


def timed(fn, n):
    wall, cpu = [], []
    for _ in range(n):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return float(np.median(wall)), float(np.mean(cpu))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="spiral")
    ap.add_argument("--hidden", default="8,8,8,8,8,8")
    ap.add_argument("--updates", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = PlaygroundConfig().changed(dataset=args.dataset, hidden=tuple(int_list(args.hidden, "hidden")),
                                     features=tuple(feats.FEATURES))
    state = new_state(cfg)
    step(state, 50)
    redraw(state)  # warm up
    batches = []
    train_wall, train_cpu = timed(lambda: batches.append(train_for(state)), args.updates)
    draw_wall, draw_cpu = timed(lambda: redraw(state), args.updates)
    sent = redraw(state)
    step_wall, _ = timed(lambda: (step(state, epoch_batches(state)), redraw(state)), 5)
    update = train_wall + draw_wall
    rate = min(1 / UPDATE_S, 1 / update)
    cpu = (train_cpu + draw_cpu) * rate
    print(f"network {cfg.data.dataset}, features {len(cfg.features)}, hidden {cfg.net.hidden}, batch {cfg.batch_size}")
    print(f"train chunk (CHUNK_S {CHUNK_S} s): median {train_wall * 1e3:.1f} ms, {np.mean(batches):.0f} batches "
          f"= {np.mean(batches) * cfg.batch_size / len(state.train_y):.2f} epochs per update")
    print(f"redraw (boundary 80² + thumbnails 20² + diagram + heat map + 2 JPEGs + chart JSON): median "
          f"{draw_wall * 1e3:.1f} ms, CPU {draw_cpu * 1e3:.1f} ms, {sent / 1024:.0f} KiB sent")
    print(f"server time per update: {update * 1e3:.0f} ms (train {train_wall * 1e3:.0f} + draw {draw_wall * 1e3:.0f});"
          f" run_every {UPDATE_S} s -> {rate:.1f} updates/s for one student")
    print(f"CPU per playing student: {cpu:.2f} CPU-s per s (before Streamlit's own ~6 ms per fragment run); "
          f"one core holds {1 / cpu:.1f} students at full rate")
    print(f"Step (one epoch of {epoch_batches(state)} batches + redraw): median {step_wall * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
