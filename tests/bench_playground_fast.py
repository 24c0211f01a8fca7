"""Playground training speed: epochs per second of the PyTorch path (nets.playground.train.torch_step,
what the page ran before fast.py) against the NumPy one (nets.playground.fast.step), alternated A B A B
on the same settings, one torch thread as in the server. Training only: no loss evaluation, no drawing.
Prints wall and CPU figures (CPU time is the steadier one on a shared machine) and the machine's load.
Run: nice -n 19 python tests/bench_playground_fast.py [--repeats 5] [--seconds 0.5]"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from nets.playground import fast  # noqa: E402
from nets.playground import features as feats  # noqa: E402
from nets.playground.state import PlaygroundConfig, new_state  # noqa: E402
from nets.playground.train import epoch_batches, torch_step  # noqa: E402

SETTINGS = {  # TF Playground's two measured settings (issue 22)
    "circle, x1 x2, 4-2 tanh, lr 0.03, batch 10": PlaygroundConfig(),
    "spiral, 7 inputs, 6x8 tanh, lr 0.03, batch 10": PlaygroundConfig().changed(
        dataset="spiral", features=tuple(feats.FEATURES), hidden=(8,) * 6),
}


def torch_epoch(cfg):
    state = new_state(cfg)
    n = epoch_batches(state)
    return lambda: torch_step(state, n, keep=False)


def numpy_epoch(cfg):
    state = new_state(cfg)
    net = fast.FastNet.from_model(state.model)
    x, y = fast.inputs(state)
    n = epoch_batches(state)
    return lambda: fast.step(state, net, n, x, y)


def rate(epoch, seconds):
    """Epochs per second (wall, CPU) over whole epochs for about `seconds`."""
    done, t, c = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t < seconds:
        epoch()
        done += 1
    return done / (time.perf_counter() - t), done / (time.process_time() - c)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=0.5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"load before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; numpy {np.__version__}, "
          f"torch {torch.__version__}")
    for name, cfg in SETTINGS.items():
        paths = {"torch (before)": torch_epoch(cfg), "numpy (fast.py)": numpy_epoch(cfg)}
        for epoch in paths.values():
            epoch()  # warm up
        got = {k: [] for k in paths}
        for _ in range(args.repeats):
            for k, epoch in paths.items():
                got[k].append(rate(epoch, args.seconds))
        print(f"\n{name}: {epoch_batches(new_state(cfg))} batches per epoch, median of {args.repeats}")
        for k, rates in got.items():
            wall, cpu = np.median([r[0] for r in rates]), np.median([r[1] for r in rates])
            print(f"  {k:16s} {wall:8.1f} epochs/s wall  {cpu:8.1f} epochs/s per CPU-s  "
                  f"({1e3 / cpu:.2f} CPU-ms per epoch)")
        t, f = (np.median([r[1] for r in got[k]]) for k in paths)
        print(f"  speed-up (CPU): {f / t:.1f}x")
    print(f"\nload after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
