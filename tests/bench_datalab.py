"""The Data lab's noise lesson measured as the app runs it (a script, not a test): on the bundled Fashion-MNIST
with LeNet (nets.datalab.plan.BASE: Adam, 5 epochs, the best epoch chosen on a clean validation tenth), the clean
run, the run with 30% of the labels flipped at random, and the runs retrained without the labels cleanlab
flags after k = 3 and k = 5 fold cross-validation (`flip:30;clean:k`), each through nets.experiment.run_training
like a job. Prints per seed the test accuracies, cleanlab's precision and recall on the injected flips, the
accuracy recovered, and the seconds of every step; then the means. CPU, torch threads as given.

    nice -n 10 python tests/bench_datalab.py                    # seeds 0, 1, 2; ~10 min on 2 cores
    nice -n 10 python tests/bench_datalab.py --seeds 0 --json r.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from nets.datalab import labelcheck, plan  # noqa: E402
from nets.experiment import run_training  # noqa: E402
from nets.runs import get_run  # noqa: E402


def one_seed(seed: int, folds: list[int], ckpt: Path) -> dict:
    base = replace(plan.BASE, seed=seed, device="cpu", stats_every=0)
    clean, noisy = plan.pair(base, plan.Lesson("noise", 30.0))
    out: dict = {"seed": seed, "seconds": {}}

    def train(name: str, cfg) -> float:
        t = time.perf_counter()
        summary = run_training(cfg, checkpoints=ckpt)
        out["seconds"][name] = round(time.perf_counter() - t, 1)
        out.setdefault("runs", {})[name] = summary.run_id
        return summary.best_test_acc

    out["clean"] = train("clean", clean)
    out["noisy"] = train("flip:30", noisy)
    for k in folds:
        acc = train(f"clean:{k}", plan.cleaned(noisy, k))
        check = labelcheck.load(get_run(ckpt, out["runs"][f"clean:{k}"]))
        p, r = check.precision_recall()
        out[f"k{k}"] = {"accuracy": acc, "precision": p, "recall": r, "flagged": int(check.flagged.sum()),
                        "flipped": int(check.flipped.sum()), "recovered": acc - out["noisy"]}
    print(f"seed {seed}: clean {out['clean']:.1%}, 30% flipped {out['noisy']:.1%} "
          f"({100 * (out['noisy'] - out['clean']):+.1f} points)", flush=True)
    for k in folds:
        c = out[f"k{k}"]
        print(f"  k={k}: {c['flagged']:,} flagged of {c['flipped']:,} flips: precision {c['precision']:.0%}, recall "
              f"{c['recall']:.0%}; retrained {c['accuracy']:.1%} ({100 * c['recovered']:+.1f} points back); "
              f"{out['seconds'][f'clean:{k}']:.0f} s", flush=True)
    lesson = out["seconds"]["clean"] + out["seconds"]["flip:30"] + out["seconds"][f"clean:{folds[0]}"]
    print(f"  seconds: {out['seconds']}; the lesson as a student runs it (both sets, then k={folds[0]}): "
          f"{lesson:.0f} s", flush=True)
    out["lesson_s"] = lesson
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--folds", type=int, nargs="+", default=[3, 5])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        rows = [one_seed(s, args.folds, Path(tmp)) for s in args.seeds]
    mean = lambda xs: statistics.fmean(xs)  # noqa: E731
    print(f"\nmean over {len(rows)} seed(s): clean {mean([r['clean'] for r in rows]):.1%}, "
          f"30% flipped {mean([r['noisy'] for r in rows]):.1%}")
    for k in args.folds:
        ks = [r[f"k{k}"] for r in rows]
        print(f"  k={k}: precision {mean([c['precision'] for c in ks]):.1%}, recall {mean([c['recall'] for c in ks]):.1%}, "
              f"retrained {mean([c['accuracy'] for c in ks]):.1%} ({100 * mean([c['recovered'] for c in ks]):+.1f} points)")
    print(f"  the lesson (both sets, then k={args.folds[0]}): {min(r['lesson_s'] for r in rows):.0f}–"
          f"{max(r['lesson_s'] for r in rows):.0f} s")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
