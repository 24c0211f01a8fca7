"""What the layer statistics cost: training images/s with cfg.stats_every = N against none, same model,
data and seed, in one process, alternating the two over several repeats and taking medians.

    python tests/bench_dynamics.py --models lenet,cnn5 --every 10 --repeats 5 --threads 1
    python tests/bench_dynamics.py --models resnet18 --train-per-class 50 --epochs 1 --repeats 5 --threads 2
    python tests/bench_dynamics.py --models resnet18 --dataset cifar10 --data-dir ~/realdata --epochs 1   # on a GPU

The overhead is one minus the median, over back-to-back pairs, of (images/s with) / (images/s without).
The figure is the training throughput fit reports (Finished.images_per_s: the optimiser steps, not
the evaluation), so both sides count the same work. Prints one line per model and --json for a dict.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nets.engine.config import TrainConfig  # noqa: E402
from nets.engine.device import device_name, pick_device
from nets.engine.models import build_model
from nets.engine.train import fit
from nets.experiment import prepare_data


def throughput(cfg: TrainConfig, data) -> tuple[float, int]:
    """(training images/s, records taken) of one run."""
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, data.input_shape, data.num_classes, **cfg.model_kwargs())
    records = []
    result = fit(model, data, cfg, lambda e: records.extend(getattr(e, "step", []) if type(e).__name__ == "LayerStats" else []))
    return result.finished.images_per_s, len(records)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="lenet,cnn5")
    ap.add_argument("--dataset", default="fashion-mnist-mini")
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--train-per-class", type=int, default=0, help="a smaller training set (0: all)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave as is)")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--data-dir", default=None, help="where the full datasets are (default: the app's)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = {"device": device_name(pick_device(args.device)), "every": args.every, "models": {}}
    for name in args.models.split(","):
        base = TrainConfig(dataset=args.dataset, model=name, epochs=args.epochs, batch_size=args.batch_size,
                           train_per_class=args.train_per_class, device=args.device, log_every=10_000,
                           log_seconds=0.25, stats_every=0)
        data = prepare_data(base, args.data_dir)
        throughput(replace(base, epochs=1), data)  # warm-up: allocator, cudnn autotune, lazy imports
        off, on, records = [], [], 0
        for _ in range(args.repeats):  # alternate, so drifting load hits both sides alike
            off.append(throughput(base, data)[0])
            rate, records = throughput(replace(base, stats_every=args.every), data)
            on.append(rate)
        a, b = statistics.median(off), statistics.median(on)
        # each pair ran back to back: the median of the pairs' ratios is the figure least moved by drifting load
        paired = statistics.median(n / f for f, n in zip(off, on))
        row = {"off": a, "on": b, "overhead": 1 - paired, "records": records, "off_all": off, "on_all": on}
        out["models"][name] = row
        if not args.json:
            print(f"{name:9s} {args.dataset} on {out['device']}: {a:,.0f} images/s without statistics, {b:,.0f} with "
                  f"every {args.every} steps ({records} records): overhead {row['overhead']:+.1%} "
                  f"(median of {args.repeats} back-to-back pairs)")
    if args.json:
        print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
