"""What the layer statistics cost: training images/s with cfg.stats_every = N against none, same model,
data and seed, in one process, alternating the two and taking medians.

    python tests/bench_dynamics.py --models lenet,cnn5 --threads 1                  # blocks of steps (default)
    python tests/bench_dynamics.py --models resnet18 --train-per-class 50 --threads 2 --blocks 60
    python tests/bench_dynamics.py --models lenet,cnn5 --mode runs --repeats 11 --epochs 3 --threads 1
    python tests/bench_dynamics.py --models resnet18 --dataset cifar10 --data-dir ~/realdata   # on a GPU

--mode steps (the default) trains one model through the engine's own step (nets.engine.train._Run),
in blocks of N optimiser steps, each ending with the host sync the training loop makes at its logging
interval; blocks with the probe and without alternate, so drifting load hits both alike, and every
block "with" holds exactly one record and its activation window. The overhead is one minus the
median block time without over the median block time with. --mode runs times whole `fit` runs
instead (Finished.images_per_s, back-to-back pairs): closer to a user's run, but on a shared 2-core
machine a LeNet epoch of half a second varies by ±10 % from run to run, more than the cost measured.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nets.engine.config import TrainConfig  # noqa: E402
from nets.engine.device import device_name, pick_device
from nets.engine.models import build_model
from nets.engine.train import _Run, fit
from nets.experiment import prepare_data


def throughput(cfg: TrainConfig, data) -> tuple[float, int]:
    """(training images/s, records taken) of one run."""
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, data.input_shape, data.num_classes, **cfg.model_kwargs())
    records = []
    result = fit(model, data, cfg, lambda e: records.extend(getattr(e, "step", []) if type(e).__name__ == "LayerStats" else []))
    return result.finished.images_per_s, len(records)


def step_blocks(cfg: TrainConfig, data, every: int, blocks: int) -> dict:
    """Median seconds of a block of `every` steps without and with the probe, alternated (after 4 warm-up blocks)."""
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, data.input_shape, data.num_classes, **cfg.model_kwargs())
    run = _Run(model, data, replace(cfg, stats_every=every), lambda e: None)
    probe, order = run.probe, torch.randperm(run.n, generator=torch.Generator().manual_seed(0)).to(run.device)
    batches, times, b = run.n // run.bs, {"off": [], "on": []}, 0
    for i in range(blocks + 4):
        for side in (("off", "on") if i % 2 else ("on", "off")):
            run.probe = probe if side == "on" else None
            if side == "off":
                probe.remove()  # no hooks at all, as in a run without statistics
            elif not probe.handles:
                probe.handles = [m.register_forward_hook(probe._hook(j)) for j, m in enumerate(probe.modules)]
            t = time.perf_counter()
            for _ in range(every):
                k = b % batches
                loss, _, _ = run.step(order[k * run.bs:(k + 1) * run.bs])
                b += 1
            float(loss.detach())  # the loop's host sync at a logging interval
            if probe is not None:
                probe.flush()  # (nothing pending after a block without it)
            if i >= 4:
                times[side].append(time.perf_counter() - t)
    probe.remove()
    off, on = statistics.median(times["off"]), statistics.median(times["on"])
    return {"off": every * run.bs / off, "on": every * run.bs / on, "overhead": 1 - off / on,
            "records": len(times["on"]), "off_all": times["off"], "on_all": times["on"]}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="lenet,cnn5")
    ap.add_argument("--dataset", default="fashion-mnist-mini")
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--train-per-class", type=int, default=0, help="a smaller training set (0: all)")
    ap.add_argument("--repeats", type=int, default=5, help="--mode runs: back-to-back pairs")
    ap.add_argument("--mode", choices=("steps", "runs"), default="steps")
    ap.add_argument("--blocks", type=int, default=200, help="--mode steps: pairs of blocks")
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
        if args.mode == "steps":
            row = step_blocks(base, data, args.every, args.blocks)
            out["models"][name] = row
            if not args.json:
                print(f"{name:9s} {args.dataset} on {out['device']}: {row['off']:,.0f} training images/s without "
                      f"statistics, {row['on']:,.0f} with a record every {args.every} steps: overhead "
                      f"{row['overhead']:+.1%} (medians of {args.blocks} alternated blocks of {args.every} steps)")
            continue
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
