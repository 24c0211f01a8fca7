"""Does the learning-rate finder help? For each configuration: the range test (nets.engine.lrfind) and the four
rules' suggestions (nets.coach.lr_suggest), against a log-spaced sweep of 1-epoch trainings (1e-4 .. 1 in half
decades, the same initial weights, fit as the app trains). Prints per configuration the best swept rate (by
test accuracy), each rule's rate, whether it lies within half a decade of the best (|log10(rule/best)| <= 0.5)
and the test accuracy of the swept rate nearest to it; then per rule the share of hits, the share near the
best accuracy (within 2 points) and the mean accuracy lost; the winner loses the least. A script, not a test.

    nice -n 10 python tests/bench_lrfind.py            # 10 configurations, ~8 min (load ~9 on 2 cores)
    nice -n 10 python tests/bench_lrfind.py --quick    # smaller subsets, 5 swept rates: a smoke run
    ... --json results.json                            # the figures as JSON as well (after each configuration)
    ... --reuse results.json                           # the sweeps of an earlier run (same --quick): finder only
    ... --only lenet-sgd-mnist                         # one configuration (a name from CONFIGS)

One torch thread (like the test suite), CPU. The ResNet-18 (the stock 7x7 stem, batch 32: the small stem
ran at ~20 images/s here) and the 5x5 CNN train on class-balanced subsets (train_per_class) to keep the
sweep to minutes; the finder then takes MIN_STEPS steps, more than one of those short epochs (on the
full bundled subsets it takes fewer than an epoch's).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from nets.coach import lr_suggest  # noqa: E402
from nets.engine.config import TrainConfig  # noqa: E402
from nets.engine.lrfind import range_test  # noqa: E402
from nets.engine.models import build_model  # noqa: E402
from nets.engine.train import fit  # noqa: E402
from nets.experiment import prepare_data  # noqa: E402

MN, FA = "mnist-mini", "fashion-mnist-mini"
BASE = dict(device="cpu", epochs=1, stats_every=0, batch_size=64)
# the stock 7x7 stem: the small stem keeps 28x28 through the first stage and ran at ~20 images/s here
RESNET = dict(model="resnet18", small_stem=False, batch_size=32)
# name: (settings, train_per_class in the full run, in --quick)
CONFIGS = {
    "mlp-sgd-mnist": (dict(model="mlp", optimizer="sgd", dataset=MN), 0, 200),
    "mlp-adam-fashion": (dict(model="mlp", optimizer="adam", dataset=FA), 0, 200),
    "lenet-sgd-fashion": (dict(model="lenet", optimizer="sgd", dataset=FA), 0, 200),
    "lenet-adam-mnist": (dict(model="lenet", optimizer="adam", dataset=MN), 0, 200),
    "lenet-sgd-mnist": (dict(model="lenet", optimizer="sgd", dataset=MN), 0, 200),
    "mlp-adam-mnist": (dict(model="mlp", optimizer="adam", dataset=MN), 0, 200),
    "cnn5-sgd-mnist": (dict(model="cnn5", optimizer="sgd", dataset=MN), 200, 100),
    "cnn5-adam-fashion": (dict(model="cnn5", optimizer="adam", dataset=FA), 200, 100),
    "resnet18-sgd-fashion": (dict(RESNET, optimizer="sgd", dataset=FA), 100, 30),
    "resnet18-adam-fashion": (dict(RESNET, optimizer="adam", dataset=FA), 100, 30),
}
FULL_SWEEP = [10 ** (k / 2) for k in range(-8, 1)]   # 1e-4, 3e-4, ..., 0.3, 1
NEAR = 0.02   # "near the best": within 2 accuracy points
QUICK_SWEEP = [10 ** k for k in range(-4, 1)]


def _model(cfg: TrainConfig, data):
    torch.manual_seed(cfg.seed)
    return build_model(cfg.model, data.input_shape, data.num_classes, **cfg.model_kwargs())


def one_config(name: str, quick: bool, old_sweep: dict | None = None) -> dict:
    settings, per_class, quick_per_class = CONFIGS[name]
    cfg = TrainConfig(**{**BASE, **settings}, train_per_class=quick_per_class if quick else per_class)
    data = prepare_data(cfg)
    t0 = time.perf_counter()
    curve = range_test(_model(cfg, data), data, cfg)
    s = lr_suggest.suggest(curve)
    finder_s = time.perf_counter() - t0
    sweep = {}
    t1 = time.perf_counter()
    for lr in (QUICK_SWEEP if quick else FULL_SWEEP):
        if old_sweep and f"{lr:.3g}" in old_sweep:  # --reuse: the sweep does not depend on the finder
            sweep[lr] = old_sweep[f"{lr:.3g}"]
            continue
        result = fit(_model(cfg, data), data, replace(cfg, lr=lr))
        sweep[lr] = result.history[-1].test_acc if result.history else 1 / data.num_classes  # diverged: chance
    sweep_s = time.perf_counter() - t1 if not old_sweep else old_sweep.get("seconds", 0.0)
    best_lr = max(sweep, key=lambda lr: (sweep[lr], -lr))
    rules = {}
    for rule, lr in s.items():
        if lr is None:
            rules[rule] = {"lr": None, "hit": False, "acc_nearest": None}
            continue
        nearest = min(sweep, key=lambda x: abs(math.log10(x / lr)))
        rules[rule] = {"lr": lr, "hit": abs(math.log10(lr / best_lr)) <= 0.5 + 1e-9, "acc_nearest": sweep[nearest]}
    return {"config": name, "train_size": len(data.x_train), "finder_steps": len(curve.lrs),
            "batches_per_epoch": math.ceil(len(data.x_train) / cfg.batch_size), "stopped": curve.stopped,
            "finder_s": round(finder_s, 2), "sweep_s": round(sweep_s, 2), "best_lr": best_lr,
            "best_acc": sweep[best_lr], "sweep": {**{f"{k:.3g}": v for k, v in sweep.items()}, "seconds": sweep_s},
            "rules": rules,
            "words": lr_suggest.words(curve, s), "curve": curve.to_dict()}


def _f(lr) -> str:
    return "—" if lr is None else lr_suggest.fmt_lr(lr)


def report(rows: list[dict]) -> dict:
    head = f"{'config':22} {'best lr':>7} {'acc':>5} | " + " | ".join(f"{r:^16}" for r in lr_suggest.RULES)
    print(head + f" | {'finder':>7} {'sweep':>7}")
    for row in rows:
        cells = []
        for rule in lr_suggest.RULES:
            r = row["rules"][rule]
            acc = "" if r["acc_nearest"] is None else f"{r['acc_nearest']:.2f}"
            cells.append(f"{_f(r['lr']):>6} {'yes' if r['hit'] else 'no ':3} {acc:>5}")
        print(f"{row['config']:22} {_f(row['best_lr']):>7} {row['best_acc']:.2f} | " + " | ".join(cells)
              + f" | {row['finder_s']:6.1f}s {row['sweep_s']:6.1f}s")
    share = {rule: sum(row["rules"][rule]["hit"] for row in rows) / max(1, len(rows)) for rule in lr_suggest.RULES}
    loss = {rule: float(np.mean([row["best_acc"] - (row["rules"][rule]["acc_nearest"] or 0) for row in rows]))
            for rule in lr_suggest.RULES}
    near = {rule: sum(row["best_acc"] - (row["rules"][rule]["acc_nearest"] or 0) <= NEAR for row in rows)
            / max(1, len(rows)) for rule in lr_suggest.RULES}
    print("within half a decade of the best swept rate: "
          + ", ".join(f"{rule} {share[rule]:.0%}" for rule in lr_suggest.RULES))
    print(f"the swept rate nearest the rule within {NEAR * 100:.0f} points of the best accuracy: "
          + ", ".join(f"{rule} {near[rule]:.0%}" for rule in lr_suggest.RULES))
    print("mean accuracy lost at the swept rate nearest the rule: "
          + ", ".join(f"{rule} {loss[rule] * 100:.1f} points" for rule in lr_suggest.RULES))
    # the winner: the rule whose rate trains best (least accuracy lost); the half-decade share rewards a
    # rule that lands just below a cliff (steep: 0.07 where 0.03 is best and 0.1 collapses to chance)
    winner = min(lr_suggest.RULES, key=lambda r: (loss[r], -share[r]))
    print(f"winner (least accuracy lost): {winner} (lr_suggest.BEST_RULE is {lr_suggest.BEST_RULE})")
    return {"share": share, "near_best": near, "accuracy_lost": loss, "winner": winner}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller subsets, 5 swept rates")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--reuse", help="take the sweeps from this earlier --json file (same --quick)")
    ap.add_argument("--only", action="append", choices=list(CONFIGS), help="only these configurations")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    old = {}
    if args.reuse:
        earlier = json.loads(Path(args.reuse).read_text())
        if earlier.get("quick") == args.quick:
            old = {row["config"]: row["sweep"] for row in earlier["rows"]}
    rows = []
    for name in args.only or CONFIGS:
        rows.append(one_config(name, args.quick, old.get(name)))
        print(f"  {name}: {rows[-1]['words']}", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps({"rows": rows, "quick": args.quick}, indent=1))
    summary = report(rows)
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, **summary, "quick": args.quick}, indent=1))


if __name__ == "__main__":
    main()
