"""What each trick of the CIFAR-10 speed run buys (a script, not a test): the airbench94 recipe as the
engine's switches (PRESETS "airbench94": model airbench with frozen patch whitening and batch norm in
float32, Dirac init, alternating flip and 2-pixel translation, label smoothing 0.2, Lookahead, the
triangle schedule, test-time augmentation), trained through nets.engine.train.fit, then the same with
one trick switched off at a time. Per variant and seed: the last epoch's test accuracy (with the
variant's TTA; never the best epoch picked on the test set), the end-to-end seconds (loading the data,
building and whitening the model, moving the data to the device, training, every epoch's evaluation)
and the training-only seconds (the epochs' optimiser steps, as airbench times them). On a GPU a
warm-up run (random labels, one epoch, not counted) comes first, as in airbench; its cold end-to-end
seconds (CUDA start-up, cudnn's autotuning) are printed apart. Nothing is compiled (no torch.compile).

Device auto (cuda, then mps, then cpu). On a GPU the default is the full recipe on CIFAR-10 (looked
for in --data-dir, else ~/realdata, else downloaded into ./data); on a CPU "airbench94-mini" (the
bundled Fashion-MNIST, 3,000 training images, narrower blocks), so that the script runs anywhere.

    python tests/bench_speedrun.py                                  # GPU: CIFAR-10, 3 seeds, every trick
    python tests/bench_speedrun.py --seeds 5 --only full            # the 94% check: mean over 5 seeds
    python tests/bench_speedrun.py --data-dir ~/realdata --json speedrun.json
    nice -n 10 python tests/bench_speedrun.py --device cpu --seeds 1 --epochs 2 --train-per-class 100
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from nets.engine.config import PRESETS, TrainConfig, validate  # noqa: E402
from nets.engine.device import pick_device  # noqa: E402
from nets.engine.events import EpochEnd  # noqa: E402
from nets.engine.start import initial_model  # noqa: E402
from nets.engine.train import fit  # noqa: E402
from nets.experiment import prepare_data  # noqa: E402


def _without(cfg: TrainConfig, name: str) -> tuple[str, ...]:
    return tuple(a for a in cfg.augment if a != name)


# Each trick and the configuration with it switched off (the rest of the recipe unchanged).
TRICKS = {
    "whiten": ("frozen patch whitening → a trainable 2×2 conv", lambda c: replace(c, whiten=False)),
    "dirac": ("Dirac init → PyTorch's default", lambda c: replace(c, init="")),
    "flip_alt": ("alternating flip → random flip", lambda c: replace(c, augment=tuple(
        "flip" if a == "flip_alt" else a for a in c.augment))),
    "translate": ("2-px translation → none", lambda c: replace(c, augment=_without(c, "translate"))),
    "label_smoothing": ("label smoothing 0.2 → 0", lambda c: replace(c, label_smoothing=0.0)),
    "lookahead": ("Lookahead → plain SGD", lambda c: replace(c, lookahead=0)),
    "tta": ("TTA (mirror + translations) → none", lambda c: replace(c, tta=0)),
    "triangle": ("triangle schedule → constant lr", lambda c: replace(c, schedule="none")),
    "bn_fp32": ("batch norm in fp32 → in the autocast type", lambda c: replace(c, bn_fp32=False)),
    "amp": ("mixed precision → fp32", lambda c: replace(c, amp=False)),
    "channels_last": ("channels-last → contiguous", lambda c: replace(c, channels_last=False)),
}
GPU_ONLY = ("bn_fp32", "amp", "channels_last")  # on a CPU these change nothing that this engine does


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def one_run(cfg: TrainConfig, data_dir: str | None, warmup: bool = False) -> dict:
    """One training, timed end to end (data loading included) and training only."""
    device = pick_device(cfg.device)
    _sync(device)
    t0 = time.perf_counter()
    data = prepare_data(cfg, data_dir)
    if warmup:  # airbench's warm-up run trains on random labels: nothing learnt can leak
        data.y_train = torch.randint(0, data.num_classes, data.y_train.shape)
    t_data = time.perf_counter()
    model = initial_model(cfg, data)  # built, seeded, initialised, whitened from the training images
    t_model = time.perf_counter()
    epochs: list[EpochEnd] = []
    fit(model, data, cfg, lambda e: epochs.append(e) if isinstance(e, EpochEnd) else None)
    _sync(device)
    end = time.perf_counter()
    n, bs = len(data.x_train), min(cfg.batch_size, len(data.x_train))
    seen = n - (1 if n % bs == 1 else 0)  # a last batch of one image is dropped (batch norm)
    return {"test_acc": epochs[-1].test_acc, "end_to_end_s": end - t0, "data_s": t_data - t0,
            "prepare_s": t_model - t_data, "train_s": sum(seen / e.images_per_s for e in epochs),
            "epochs": len(epochs), "train_images": n, "device": str(device)}


def variants(base: TrainConfig, only: list[str], device: torch.device) -> list[tuple[str, str, TrainConfig]]:
    out = [("full", "the whole recipe", base)] if "full" in only else []
    for name, (text, off) in TRICKS.items():
        if name not in only or (name in GPU_ONLY and device.type != "cuda"):
            continue
        cfg = off(base)
        if cfg != base:  # a trick the base does not use is no variant
            out.append((name, text, validate(cfg)))
    return out


def _mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", choices=["airbench94", "airbench94-mini"], help="default: by device")
    p.add_argument("--device", default="auto")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--only", default="full," + ",".join(TRICKS),
                   help="comma-separated: full and the tricks to switch off one at a time (default: all)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--train-per-class", type=int)
    p.add_argument("--data-dir", help="where the dataset is (default: ~/realdata when it has CIFAR-10, else "
                                      "$NNLAB_DATA_DIR or ./data)")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--json", help="write the per-run results and the table here")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    preset = args.preset or ("airbench94" if device.type == "cuda" else "airbench94-mini")
    base = replace(PRESETS[preset], device=args.device)
    if args.epochs:
        base = replace(base, epochs=args.epochs)
    if args.train_per_class is not None:
        base = replace(base, train_per_class=args.train_per_class)
    data_dir = args.data_dir
    realdata = Path.home() / "realdata"
    if data_dir is None and base.dataset == "cifar10" and (realdata / "cifar-10-batches-py").is_dir():
        data_dir = str(realdata)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - {"full", *TRICKS}
    if unknown:
        p.error(f"unknown trick(s) {sorted(unknown)}: choose from full, {', '.join(TRICKS)}")

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
    print(f"# {preset} on {name}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
          f"load {load:.1f}; {base.dataset}, {base.epochs} epochs, batch {base.batch_size}, seeds 0..{args.seeds - 1}")
    cold_s = None
    if device.type == "cuda":  # CUDA's start-up and cudnn's autotuning, paid once per process
        t_cold = time.perf_counter()
        cold = one_run(replace(base, epochs=1), data_dir, warmup=True)
        cold_s = time.perf_counter() - t_cold
        print(f"# warm-up (random labels, 1 epoch, not counted): {cold_s:.2f} s end to end cold "
              f"({cold['data_s']:.2f} s loading the data, {cold['prepare_s']:.2f} s building and whitening)")

    rows, runs = [], []
    for key, text, cfg in variants(base, only, device):
        results = []
        for seed in range(args.seeds):
            r = one_run(replace(cfg, seed=seed), data_dir)
            results.append(r)
            runs.append({"variant": key, "seed": seed, **r})
            print(f"  {key:<15} seed {seed}: {100 * r['test_acc']:.2f}%  {r['end_to_end_s']:.2f} s end to end, "
                  f"{r['train_s']:.2f} s training", flush=True)
        acc, acc_sd = _mean_sd([r["test_acc"] for r in results])
        e2e, _ = _mean_sd([r["end_to_end_s"] for r in results])
        train, _ = _mean_sd([r["train_s"] for r in results])
        rows.append({"variant": key, "what": text, "acc": acc, "acc_sd": acc_sd, "end_to_end_s": e2e, "train_s": train})

    full = next((r for r in rows if r["variant"] == "full"), None)
    print(f"\n| switched off | test accuracy (mean ± sd, {args.seeds} seeds) | Δ accuracy | end to end (s) | "
          "training (s) | Δ training |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        d_acc = "" if full is None or r is full else f"{100 * (r['acc'] - full['acc']):+.2f} pt"
        d_t = "" if full is None or r is full else f"{r['train_s'] - full['train_s']:+.2f} s"
        print(f"| {r['what'] if r is not full else 'nothing (the recipe)'} | {100 * r['acc']:.2f} ± "
              f"{100 * r['acc_sd']:.2f}% | {d_acc} | {r['end_to_end_s']:.2f} | {r['train_s']:.2f} | {d_t} |")
    if full is not None and preset == "airbench94":
        ok = full["acc"] >= 0.94 and full["train_s"] <= 10
        print(f"\n94% goal (mean test accuracy ≥ 94% within 10 s of training): {'met' if ok else 'not met'} "
              f"({100 * full['acc']:.2f}%, {full['train_s']:.2f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps({"preset": preset, "device": name, "load": load, "cold_s": cold_s,
                                               "config": base.to_dict(), "rows": rows, "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
