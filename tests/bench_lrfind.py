"""Does the learning-rate finder help? For each configuration: the range test (nets.engine.lrfind, seed 0, as the
app runs it) and the rules' suggestions (nets.coach.lr_suggest, plus a few combinations of them), against a
log-spaced sweep of 1-epoch trainings (1e-4 .. 1 in half decades, widened to cover every rule's rate and while
the best sits at an end, within 3e-6 .. 10; each rate trained with seeds 0..N-1, the same seeds for every
rate, on the same data; a rate's score is its mean test accuracy). A rule hits when |log10(rule / best)| <=
0.5; noise-aware, when it lies within half a decade of any swept rate within NOISE (1 point) of the best mean;
"lost" is the best mean accuracy minus that of the swept rate nearest the rule. Two sets: FIT (the 10
configurations the rule was chosen on) and HELD (10 others, never used to choose). Winners are named on FIT
alone (the most hits, ties: the least lost; and the least lost); every rule's figures are printed for FIT,
HELD and all, and the winners' and lr_suggest.BEST_RULE's share on HELD against the goal (80%). A script, not
a test.

    nice -n 10 python tests/bench_lrfind.py --json r.json   # both sets, 2 seeds: ~10 min (load 2-4 on 2 cores)
    nice -n 10 python tests/bench_lrfind.py --quick         # smaller subsets, 5 rates, 1 seed: a smoke run
    ... --set fit | --set held                              # one set only
    ... --only lenet-sgd-mnist                              # one configuration (a name from FIT or HELD)
    ... --seeds 3                                           # seeds per swept rate (default 2; --quick: 1)
    ... --reuse r.json                                      # reuse its trainings (same --quick, --seeds)
    python tests/bench_lrfind.py --rescore r.json           # score the rules on a run's stored curves and sweeps

One torch thread (like the test suite), CPU. The ResNet-18 (the stock 7x7 stem, batch 32) and the 5x5 CNNs
train on class-balanced subsets (train_per_class) to keep the sweep to minutes; the finder then takes more
steps than one of those short epochs (on the full bundled subsets it takes fewer than an epoch's).
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
from nets.engine.config import PRESETS, TrainConfig  # noqa: E402
from nets.engine.lrfind import LRCurve, range_test  # noqa: E402
from nets.engine.train import fit  # noqa: E402
from nets.experiment import initial_model, prepare_data  # noqa: E402

MN, FA = "mnist-mini", "fashion-mnist-mini"
BASE = dict(device="cpu", epochs=1, stats_every=0, batch_size=64)
# the stock 7x7 stem: the small stem keeps 28x28 through the first stage and ran at ~20 images/s here
RESNET = dict(model="resnet18", small_stem=False, batch_size=32)
# name: (settings, train_per_class in the full run, in --quick)
FIT = {
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
CUSTOM = PRESETS["custom-mnist"].layers   # the builder's network (conv 8, conv 16, linear 32)
# never used to choose a rule: other architectures, batch sizes, momentum, weight decay, dropout, loss,
# activations, optimizers, and the other dataset for a FIT model
HELD = {
    "gated-sgd-mnist": (dict(model="gated-cnn", optimizer="sgd", dataset=MN), 100, 50),
    "custom-adam-fashion": (dict(model="custom", layers=CUSTOM, optimizer="adam", dataset=FA), 0, 200),
    "mlp-sgd-fashion-b32": (dict(model="mlp", optimizer="sgd", dataset=FA, batch_size=32), 0, 200),
    "lenet-adam-fashion-b128": (dict(model="lenet", optimizer="adam", dataset=FA, batch_size=128), 0, 200),
    "lenet-sgd-m0.5-wd-mnist": (dict(model="lenet", optimizer="sgd", momentum=0.5, weight_decay=5e-4,
                                     dataset=MN), 0, 200),
    "mlp-adamw-drop-tanh-mnist": (dict(model="mlp", optimizer="adamw", weight_decay=0.01, dropout=0.3,
                                       activation="tanh", dataset=MN), 0, 200),
    "lenet-sgd-mse-fashion": (dict(model="lenet", optimizer="sgd", loss="mse", dataset=FA), 0, 200),
    "mlp-rmsprop-leaky-fashion": (dict(model="mlp", optimizer="rmsprop", activation="leaky_relu",
                                       hidden=(256, 128), dataset=FA), 0, 200),
    "cnn5-adam-mnist": (dict(model="cnn5", optimizer="adam", dataset=MN), 200, 100),
    "resnet18-sgd-wd-clip-mnist": (dict(RESNET, optimizer="sgd", weight_decay=1e-4, clip_grad=0.1, dataset=MN),
                                   100, 30),   # the resnet18-scratch preset's weight decay and clipping
}
CONFIGS = {**FIT, **HELD}
KLIM = (-11, 2)                # the swept rates: 10 ** (k / 2) for k in KLIM's range at most (3e-6 .. 10)
NOISE = 0.01                   # noise-aware: any swept rate within 1 accuracy point of the best mean


def _gm(*rates) -> float | None:
    rates = [r for r in rates if r]
    return math.exp(sum(map(math.log, rates)) / len(rates)) if rates else None


def candidates(s: dict) -> dict[str, float | None]:
    """The four rules' rates and the combinations tried: geometric means, the median of three (middle),
    other divisors of the lowest-loss rate (minimum is that rate / 10)."""
    v, m, st = s["valley"], s["minimum"], s["steep"]
    low = m * 10 if m else None
    return {**s, "lowest/3": low and low / 3, "lowest/5": low and low / 5, "lowest/30": low and low / 30,
            "gm(min,steep)": _gm(m, st), "gm(valley,min,steep)": _gm(v, m, st),
            "middle": lr_suggest.middle(s)}   # the median of valley, minimum, steep: lr_suggest's best


def _rate(k: int) -> float:
    """The swept rate k half decades from 1, to 3 figures: 1e-4, 3.16e-4, ..."""
    return float(f"{10 ** (k / 2):.3g}")


def _acc(cfg: TrainConfig, data) -> float:
    result = fit(initial_model(cfg, data), data, cfg)
    return result.history[-1].test_acc if result.history else 1 / data.num_classes  # diverged: chance


def one_config(name: str, quick: bool, seeds: int, old: dict | None = None) -> dict:
    settings, per_class, quick_per_class = CONFIGS[name]
    cfg = TrainConfig(**{**BASE, **settings}, train_per_class=quick_per_class if quick else per_class)
    data = prepare_data(cfg)   # seed 0's data (the finder's); the seeds vary the initial weights and order
    t0 = time.perf_counter()
    curve = range_test(initial_model(cfg, data), data, cfg)
    finder_s = time.perf_counter() - t0
    per_seed = {float(k): v for k, v in (old or {}).get("sweep_seeds", {}).items()}
    t1 = time.perf_counter()
    step = 2 if quick else 1                       # in half decades
    ks = set(range(-8, 1, step))                   # 1e-4 .. 1
    kmin, kmax = -(-KLIM[0] // step) * step, KLIM[1] // step * step  # on the grid: whole decades in --quick
    rules = [lr for lr in lr_suggest.suggest(curve).values() if lr]
    if rules:  # cover every rule's rate, so that the accuracy "nearest the rule" is not an end's
        lo, hi = (min(max(round(2 * math.log10(r) / step) * step, kmin), kmax) for r in (min(rules), max(rules)))
        ks |= set(range(lo, -8, step)) | set(range(step, hi + 1, step))
    while True:
        for k in sorted(ks):
            if _rate(k) not in per_seed:
                per_seed[_rate(k)] = [_acc(replace(cfg, lr=_rate(k), seed=s), data) for s in range(seeds)]
        mean = {lr: float(np.mean(a)) for lr, a in per_seed.items()}
        best = max(mean, key=lambda lr: (mean[lr], -lr))
        k = round(2 * math.log10(best))  # widen while the best is at an end
        more = {k - step} if best == min(mean) and k - step >= kmin else \
               {k + step} if best == max(mean) and k + step <= kmax else set()
        if not more - ks:
            break
        ks |= more
    return {"config": name, "set": "fit" if name in FIT else "held", "train_size": len(data.x_train),
            "finder_steps": len(curve.lrs), "batches_per_epoch": math.ceil(len(data.x_train) / cfg.batch_size),
            "stopped": curve.stopped, "finder_s": round(finder_s, 2),
            "sweep_s": round(time.perf_counter() - t1 + (old or {}).get("sweep_s", 0.0), 2), "seeds": seeds,
            "sweep": {f"{k:.3g}": v for k, v in sorted(mean.items())},
            "sweep_seeds": {f"{k:.3g}": v for k, v in sorted(per_seed.items())},
            "words": lr_suggest.words(curve, lr_suggest.suggest(curve)), "curve": curve.to_dict()}


def score(row: dict) -> dict[str, dict]:
    """Each candidate on one row: its rate, hit, noise-aware hit, accuracy lost."""
    sweep = {float(k): v for k, v in row["sweep"].items()}
    best = max(sweep, key=lambda lr: (sweep[lr], -lr))
    near = [lr for lr, a in sweep.items() if a >= sweep[best] - NOISE]
    out = {}
    for rule, lr in candidates(lr_suggest.suggest(LRCurve.from_dict(row["curve"]))).items():
        if lr is None:
            out[rule] = {"lr": None, "hit": False, "hit_noise": False, "lost": sweep[best] - min(sweep.values())}
            continue
        within = lambda b: abs(math.log10(lr / b)) <= 0.5 + 1e-9  # noqa: E731
        nearest = min(sweep, key=lambda x: abs(math.log10(x / lr)))
        out[rule] = {"lr": lr, "hit": within(best), "hit_noise": any(map(within, near)),
                     "lost": sweep[best] - sweep[nearest]}
    return out


def _f(lr) -> str:
    return "—" if lr is None else lr_suggest.fmt_lr(lr)


def table(rows: list[dict], scores: list[dict], label: str) -> dict[str, dict]:
    """Per candidate over `rows`: hits, noise-aware hits, mean and worst accuracy lost (printed)."""
    n, out = len(rows), {}
    print(f"\n{label} ({n} configurations)\n{'rule':26} {'hits':>5} {'noise-aware':>11} {'mean lost':>9} "
          f"{'worst':>6}")
    for rule in scores[0]:
        lost = [sc[rule]["lost"] for sc in scores]
        out[rule] = {"hits": sum(sc[rule]["hit"] for sc in scores), "hits_noise": sum(sc[rule]["hit_noise"]
                     for sc in scores), "n": n, "mean_lost": float(np.mean(lost)), "worst_lost": float(max(lost))}
        o = out[rule]
        print(f"{rule:26} {o['hits']:>2}/{n:<2} {o['hits_noise']:>8}/{n:<2} {o['mean_lost'] * 100:8.1f}p "
              f"{o['worst_lost'] * 100:5.1f}p")
    return out


def report(rows: list[dict]) -> dict:
    scores = [score(row) for row in rows]
    for row, sc in zip(rows, scores):
        sweep = {float(k): v for k, v in row["sweep"].items()}
        best = max(sweep, key=lambda lr: (sweep[lr], -lr))
        cells = " ".join(f"{r}={_f(sc[r]['lr'])}{'*' if sc[r]['hit'] else ''}" for r in lr_suggest.RULES)
        print(f"{row['set']:4} {row['config']:26} best {_f(best):>5} {sweep[best]:.3f} | {cells} | "
              f"finder {row['finder_s']:.1f}s sweep {row['sweep_s']:.0f}s")
    summary = {}
    for part in ("fit", "held"):
        idx = [i for i, row in enumerate(rows) if row["set"] == part]
        if idx:
            summary[part] = table([rows[i] for i in idx], [scores[i] for i in idx], part.upper())
    summary["all"] = table(rows, scores, "ALL")
    if "fit" in summary:
        fitted = summary["fit"]
        summary["winner"] = max(fitted, key=lambda r: (fitted[r]["hits"], -fitted[r]["mean_lost"]))
        summary["winner_lost"] = min(fitted, key=lambda r: (fitted[r]["mean_lost"], -fitted[r]["hits"]))
        print(f"\nwinner on FIT, most hits (ties: least lost): {summary['winner']}; least lost (ties: most "
              f"hits): {summary['winner_lost']}; lr_suggest.BEST_RULE: {lr_suggest.BEST_RULE}")
        for rule in dict.fromkeys((summary["winner"], summary["winner_lost"], lr_suggest.BEST_RULE)):
            if "held" in summary and rule in summary["held"]:
                h = summary["held"][rule]
                print(f"out of sample (HELD): {rule} within half a decade {h['hits']}/{h['n']} = "
                      f"{h['hits'] / h['n']:.0%} (goal >= 80%: {'met' if h['hits'] >= 0.8 * h['n'] else 'NOT met'}),"
                      f" noise-aware {h['hits_noise']}/{h['n']}, mean lost {h['mean_lost'] * 100:.1f} points")
    return summary


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller subsets, 5 swept rates, 1 seed")
    ap.add_argument("--seeds", type=int, help="seeds per swept rate (default 2, --quick 1)")
    ap.add_argument("--set", choices=("fit", "held", "all"), default="all")
    ap.add_argument("--json", help="also write the figures to this file (after each configuration)")
    ap.add_argument("--reuse", help="take the sweeps from this earlier --json file (same --quick and --seeds)")
    ap.add_argument("--rescore", help="only score the rules on this --json file's curves and sweeps")
    ap.add_argument("--only", action="append", choices=list(CONFIGS), help="only these configurations")
    args = ap.parse_args(argv)
    if args.rescore:
        report(json.loads(Path(args.rescore).read_text())["rows"])
        return
    seeds = args.seeds or (1 if args.quick else 2)
    torch.set_num_threads(1)
    old = {}
    if args.reuse:
        earlier = json.loads(Path(args.reuse).read_text())
        if earlier.get("quick") == args.quick and earlier.get("seeds") == seeds:
            old = {row["config"]: row for row in earlier["rows"]}
    names = args.only or [n for n in CONFIGS if args.set == "all" or (n in FIT) == (args.set == "fit")]
    rows = []
    for name in names:
        rows.append(one_config(name, args.quick, seeds, old.get(name)))
        print(f"  {name}: {rows[-1]['words']} ({rows[-1]['sweep_s']:.0f} s)", flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps({"rows": rows, "quick": args.quick, "seeds": seeds}, indent=1))
    summary = report(rows)
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, **summary, "quick": args.quick, "seeds": seeds},
                                              indent=1))


if __name__ == "__main__":
    main()
