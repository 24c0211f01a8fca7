"""What happens inside the coursework's four configurations (cnn5 on the bundled Fashion-MNIST, SGD/Adam ×
cross-entropy/squared error): layer statistics every 5 steps, printed at steps 1, 10, 20, 50 and the end:
the share of dead units per ReLU site, how sure the softmax is (out_confident: max p ≥ .99, of which
wrong; out_max_p: the mean top probability), update ratios ‖Δw‖/‖w‖ and gradient norms per layer.
With --fixtures it records the doctor's test histories instead (tests/data/dynamics/*.npz: the
chunk arrays of nets/runs/dynamics.py plus the plan as JSON and the final test accuracy).

    nice -n 10 python tests/bench_four_dynamics.py                    # the four, 3 epochs (minutes on 2 cores)
    nice -n 10 python tests/bench_four_dynamics.py --json --fixes     # as JSON, then each run's doctor's fix
    nice -n 10 python tests/bench_four_dynamics.py --fixtures tests/data/dynamics
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nets.coach.dynamics import findings  # noqa: E402
from nets.coach.group import diagnose_group  # noqa: E402
from nets.engine.config import FOUR_CONFIGS_BASE, TrainConfig, four_configs  # noqa: E402
from nets.engine.init import apply_init  # noqa: E402
from nets.engine.models import build_model  # noqa: E402
from nets.engine.stats import ARRAYS, Dynamics  # noqa: E402
from nets.engine.train import fit  # noqa: E402
from nets.experiment import prepare_data  # noqa: E402

STEPS = (1, 10, 20, 50)


def record(cfg: TrainConfig, data=None, max_steps: int = 0) -> tuple[Dynamics, float | None, float]:
    """Train `cfg` (as run_training builds it: seed, then model, then init) and return its statistics,
    its best test accuracy and the seconds it took; `max_steps` stops it after that many steps."""
    return record_all(cfg, data, max_steps)[:3]


def record_all(cfg: TrainConfig, data=None, max_steps: int = 0):
    """record(), and the EpochEnd and Diverged events as dicts (what the doctor reads)."""
    data = data if data is not None else prepare_data(cfg)
    torch.manual_seed(cfg.seed)
    model = apply_init(build_model(cfg.model, data.input_shape, data.num_classes, **cfg.model_kwargs()),
                       cfg.init, cfg.activation)
    got: dict = {"epochs": [], "notes": []}

    def on(e):
        name = type(e).__name__
        if name == "EpochEnd":
            got["epochs"].append(asdict(e))
        elif name == "Diverged":
            got["notes"].append({"kind": name, **asdict(e)})
        elif name == "StatsPlan":
            got["d"] = Dynamics.from_plan(asdict(e))
        elif name == "LayerStats":
            got["d"] = got["d"].extended(asdict(e))

    calls = [0]

    def stop():
        calls[0] += 1
        return bool(max_steps) and calls[0] > max_steps

    t = time.perf_counter()
    result = fit(model, data, cfg, on, stop)
    return got["d"], result.finished.best_acc, time.perf_counter() - t, got["epochs"], got["notes"]


def rows_at(d: Dynamics) -> list[int]:
    rows = [int(np.searchsorted(d.step, s)) for s in STEPS if s <= d.step[-1]]
    return sorted(set(min(r, len(d) - 1) for r in rows) | {len(d) - 1})


def summary(label: str, d: Dynamics, acc, seconds: float) -> dict:
    ratio = d.update_ratio
    out = {"config": label, "best_acc": acc, "seconds": round(seconds, 1), "records": len(d),
           "layers": d.layers, "sites": d.sites, "at": []}
    for r in rows_at(d):
        out["at"].append({
            "step": int(d.step[r]),
            "dead": {s: round(float(d.dead[r, j]), 3) for j, s in enumerate(d.sites) if d.site_kinds[j] == "relu"},
            "out_confident": round(float(d.out_confident[r]), 3),
            "out_confident_wrong": round(float(d.out_confident_wrong[r]), 3),
            "out_max_p": round(float(d.out_max_p[r]), 3),
            "log10_update_ratio": {n: round(float(np.log10(ratio[r, j])), 2) if ratio[r, j] > 0 else None
                                   for j, n in enumerate(d.layers)},
            "grad_norm": {n: float(f"{d.grad_norm[r, j]:.3g}") for j, n in enumerate(d.layers)}})
    out["findings"] = [f.text for f in findings(d)]
    return out


def show(s: dict) -> None:
    acc = "no model" if s["best_acc"] is None else f"{s['best_acc']:.1%}"
    print(f"\n== {s['config']}: best test accuracy {acc}, {s['seconds']} s, {s['records']} records")
    for a in s["at"]:
        print(f"  step {a['step']:>4}: confident {a['out_confident']:.0%} (wrong {a['out_confident_wrong']:.0%}), "
              f"mean max p {a['out_max_p']:.2f}")
        print("     dead      " + "  ".join(f"{k}={v:.0%}" for k, v in a["dead"].items()))
        print("     log10 Δw/w " + "  ".join(f"{k}={v}" for k, v in a["log10_update_ratio"].items()))
        print("     |grad|    " + "  ".join(f"{k}={v:.3g}" for k, v in a["grad_norm"].items()))
    print("  findings:", s["findings"] or "none")


def save(path: Path, d: Dynamics, acc, cfg: TrainConfig) -> None:
    arrays = {k: v for k, v in d.arrays().items() if k in ARRAYS}
    meta = {"plan": d.plan(), "best_acc": acc, "config": cfg.to_dict()}
    np.savez_compressed(path, **arrays, meta=np.array(json.dumps(meta)))
    print(f"{path}: {len(d)} records, {path.stat().st_size / 1024:.0f} KB, findings {[f.text for f in findings(d)]}")


def load(path) -> tuple[Dynamics, dict]:
    """A fixture: its Dynamics and its meta (plan, best_acc, config)."""
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        return Dynamics(**meta["plan"], **{k: z[k] for k in ARRAYS}), meta


def fixtures(folder: Path, every: int) -> None:
    from nets.link.inside import LESSONS
    folder.mkdir(parents=True, exist_ok=True)
    lessons = {lesson.key: lesson.cfg for lesson in LESSONS}
    jobs = [("deep-sigmoid", lessons["deep-sigmoid"], 50), ("relu-lr-1", lessons["relu-lr-1"], 50),
            ("lenet", TrainConfig(stats_every=every), 0),
            ("cnn5", TrainConfig(dataset="fashion-mnist-mini", model="cnn5", stats_every=every), 0)]
    jobs += [(f"four-{c.optimizer}-{c.loss}", c, 0)
             for c in four_configs(replace(FOUR_CONFIGS_BASE, epochs=3, stats_every=every))]
    for name, cfg, steps in jobs:
        d, acc, _ = record(cfg, max_steps=steps)
        save(folder / f"{name}.npz", d, acc, cfg)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--every", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    p.add_argument("--fixes", action="store_true", help="then train each run's first one-click fix of the doctor")
    p.add_argument("--fixtures", type=Path, help="record the doctor's test histories into this folder")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.fixtures:
        fixtures(a.fixtures, a.every)
        return
    configs = four_configs(replace(FOUR_CONFIGS_BASE, epochs=a.epochs, stats_every=a.every))
    data = prepare_data(configs[0])
    results, runs = [], []
    for cfg in configs:
        label = f"{cfg.optimizer} lr {cfg.lr:g} + {cfg.loss}"
        d, acc, seconds, epochs, notes = record_all(cfg, data)
        results.append(summary(label, d, acc, seconds))
        runs.append((label, cfg, epochs, notes, {"best_test_acc": acc, "best_epoch": len(epochs)}, d))
        if not a.json:
            show(results[-1])
    report = diagnose_group(runs)
    out = {"four": results, "sentence": report.sentence, "fixes": []}
    if not a.json:
        print("\nThe group's sentence:", report.sentence)
    if a.fixes:  # each run's first one-click fix, trained the same way: does the doctor's advice work?
        for label, cfg, *_ in runs:
            if report.advice[label]:
                advice = report.advice[label][0]
                new = advice.apply(cfg)
                d, acc, seconds, _, _ = record_all(new, data)
                fix = {"config": label, "advice": advice.title, "changes": advice.changes, "best_acc": acc,
                       "findings": [f.text for f in findings(d)], "seconds": round(seconds, 1)}
                out["fixes"].append(fix)
                if not a.json:
                    print(f"fix for {label}: {advice.title} → {advice.changes}: {acc:.1%} "
                          f"({', '.join(fix['findings']) or 'no alarm'})")
    if a.json:
        print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
