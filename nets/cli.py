"""`python -m nets train`: every TrainConfig field as a flag, a progress line, a saved run, and a
JSON summary as the last line of stdout (so scripts can read it)."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields, replace

import torch

from nets import settings as environment
from nets.engine.augment import AUGMENTATIONS
from nets.engine.catalog import DATASETS, default_data_dir
from nets.engine.config import (FOUR_CONFIGS_BASE, INITS, LOSSES, OPTIMIZERS, PRESETS, SCHEDULES, ConfigError,
                                TrainConfig, validate)
from nets.engine.data import DatasetError
from nets.engine.models import MODELS, ModelError
from nets.engine import datamod, netspec
from nets.engine.options import OPTIONS, SETTINGS, Option
from nets.engine.events import BatchProgress, Converged, Diverged, EarlyStopped, EpochEnd, Started, Stopped
from nets.experiment import run_four_configs, run_training
from nets.runs import CheckpointError

HELP = {
    "dataset": "which data to train on", "folder": "image folder for --dataset folder, inside --data-dir (a relative one is read from there; "
              "symlinks are followed and must stay inside)",
    "image_size": "side length images of --dataset folder are resized to",
    "val_fraction": "fraction of the training data held out for validation (picks the best model)",
    "train_per_class": "train on this many images per class (0: all)",
    "train_fraction": "train on this fraction of every class",
    "data_mod": "modify the training set (the test and validation sets stay clean), steps joined by ';': "
                "keep:3,5@10 keeps 10%% of classes 3 and 5; flip:30 flips 30%% of the labels at random; "
                "flip:7>1@30 labels 30%% of the 7s as 1; clean:5 drops the labels cleanlab flags after 5-fold "
                "cross-validation (reproducible by --seed)",
    "model": "architecture", "optimizer": "optimizer", "lr": "learning rate", "momentum": "momentum (SGD, RMSprop)",
    "nesterov": "Nesterov momentum (SGD)", "weight_decay": "L2 weight decay",
    "loss": "ce: cross-entropy; mse: squared error of softmax against one-hot",
    "epochs": "epochs", "batch_size": "images per batch", "schedule": "learning-rate schedule",
    "step_size": "epochs between decays (step schedule)", "gamma": "decay factor (step schedule)",
    "clip_grad": "clip the gradient norm to this (0: off)",
    "patience": "stop after this many epochs without improvement (0: off)",
    "augment": "comma-separated: " + ", ".join(AUGMENTATIONS),
    "seed": "random seed (splits, initial weights, batches)", "device": "auto, cpu, cuda, cuda:N or mps",
    "amp": "mixed precision on CUDA", "channels_last": "channels-last memory format (default: for conv nets)",
    "log_every": "batches between progress updates",
    "log_seconds": "or seconds between progress updates, whichever comes first (0: batches only)",
    "name": "a name for the run",
    "converge_patience": "stop when the training loss stalls this many epochs", "converge_delta": "what counts as stalled",
    "init": "draw the Linear/Conv weights again: kaiming (He, for ReLU) or xavier (Glorot, for sigmoid/tanh); "
            "biases zero (default: PyTorch's)",
    "stats_every": "layer statistics every this many steps, saved with the run (0: off)",
}  # the model options' help is in their table, nets.engine.options
CHOICES = {"dataset": DATASETS, "model": tuple(MODELS), "optimizer": OPTIMIZERS, "loss": LOSSES,
           "schedule": SCHEDULES, "init": INITS}


def _option_flag(option: Option) -> dict:
    """argparse arguments of a model option, from its table row: its help, its choices, and for
    sizes a type that reads them as the forms do (nets.parse.int_list)."""
    kw = {"help": option.help + (" (default: the model's)" if option.per_model else "")}
    if option.kind in ("sizes", "layers"):
        def read(text: str):
            try:
                return option.read(text)
            except ValueError as e:
                raise argparse.ArgumentTypeError(str(e)) from None
        kw.update(type=read, metavar="N,N" if option.kind == "sizes" else "LAYERS")
        if option.kind == "layers":
            kw["help"] = (f"{kw['help']}; tokens: " + ", ".join(sorted(netspec.TYPES)) + " (with _N, _kN, _sN, "
                          "_pN, _gN, _iN, _nobias: see docs/builder.md)")
    elif option.kind == "choice" and all(isinstance(v, str) for v in option.choices.values()):
        kw["choices"] = [v for v in option.choices.values() if v]
    return kw


def _data_mod(text: str) -> str:
    """--data-mod in its canonical form; the classes are checked against the dataset by validate()."""
    try:
        return datamod.canonical(text)
    except datamod.DataModError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _str_list(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m nets train", argument_default=argparse.SUPPRESS,
        description="Train a model, save it as a run under checkpoints/, print a JSON summary last.")
    p.add_argument("--preset", choices=sorted(PRESETS) + ["four-configs"],
                   help="start from a named configuration; other flags override it")
    p.add_argument("--data-dir", help="data folder (default: $NNLAB_DATA_DIR or ./data)")
    p.add_argument("--checkpoints", help="where runs are saved (default: $NNLAB_CHECKPOINTS or ./checkpoints)")
    p.add_argument("--run-id", help="folder name for the run (default: time, name and a random suffix)")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--quiet", action="store_true", help="only print the JSON summary")
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        kind = str(f.type)
        kw = {"help": HELP.get(f.name, ""), "dest": f.name}
        if f.name in SETTINGS:  # the range validate() checks and the Train form allows
            kw["help"] = f"{kw['help']} ({SETTINGS[f.name].range_text()})".lstrip()
        if f.name in CHOICES:
            kw["choices"] = CHOICES[f.name]
        if f.name in OPTIONS:
            kw.update(_option_flag(OPTIONS[f.name]))
        if f.name == "data_mod":
            kw.update(type=_data_mod, metavar="STEPS")
        if kind.startswith("bool"):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, **kw)
        elif "type" in kw:
            p.add_argument(flag, **kw)
        elif kind == "tuple[str, ...]":
            p.add_argument(flag, type=_str_list, metavar="A,B", **kw)
        elif kind.startswith("float"):
            p.add_argument(flag, type=float, **kw)
        elif kind == "int":
            p.add_argument(flag, type=int, **kw)
        else:
            p.add_argument(flag, type=str, **kw)
    return p


class Progress:
    """One line per epoch on stderr, and a live bar when stderr is a terminal."""

    def __init__(self, quiet: bool):
        self.quiet, self.tty = quiet, sys.stderr.isatty()

    def __call__(self, e) -> None:
        if self.quiet:
            return
        if isinstance(e, Started):
            self._line(f"training on {e.device}: {e.params:,} parameters, {e.train_size:,} images, "
                       f"{e.batches_per_epoch} batches × {e.epochs} epochs (best model by {e.eval_split} accuracy)")
        elif isinstance(e, BatchProgress) and self.tty:
            done = int(30 * e.batch / e.batches)
            sys.stderr.write(f"\repoch {e.epoch} [{'#' * done}{'.' * (30 - done)}] {e.batch}/{e.batches} "
                             f"loss {e.loss:.4f} {e.images_per_s:,.0f} img/s ETA {e.eta_s:.0f}s ")
            sys.stderr.flush()
        elif isinstance(e, EpochEnd):
            val = f" val loss {e.val_loss:.4f} acc {e.val_acc:.4f}" if e.val_acc is not None else ""
            self._line(f"epoch {e.epoch}: train loss {e.train_loss:.4f} acc {e.train_acc:.4f}{val} "
                       f"test loss {e.test_loss:.4f} acc {e.test_acc:.4f} ({e.seconds:.1f}s, "
                       f"{e.images_per_s:,.0f} img/s)")
        elif isinstance(e, Diverged):
            self._line(f"diverged: the loss became {e.loss} at epoch {e.epoch}, batch {e.batch}; "
                       "try a learning rate 10× smaller. The best model so far is kept.")
        elif isinstance(e, EarlyStopped):
            self._line(f"early stop at epoch {e.epoch}: no improvement for {e.patience} epochs "
                       f"(best epoch {e.best_epoch})")
        elif isinstance(e, Converged):
            self._line(f"converged at epoch {e.epoch}: the training loss fell by less than {e.delta:g} "
                       f"for {e.patience} epochs")
        elif isinstance(e, Stopped):
            self._line(f"stopped in epoch {e.epoch} after {e.batch} batches")

    def _line(self, text: str) -> None:
        sys.stderr.write(("\r\033[K" if self.tty else "") + text + "\n")
        sys.stderr.flush()


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    preset = getattr(args, "preset", None)
    base = FOUR_CONFIGS_BASE if preset == "four-configs" else PRESETS[preset] if preset else TrainConfig()
    overrides = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    return replace(base, **overrides)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    cfg = config_from_args(args)
    try:
        validate(cfg, data_root=getattr(args, "data_dir", None) or default_data_dir())
    except ConfigError as e:
        parser.error(str(e))
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    common = dict(data_dir=getattr(args, "data_dir", None),
                  checkpoints=getattr(args, "checkpoints", None) or environment.get("NNLAB_CHECKPOINTS"),
                  on_event=Progress(getattr(args, "quiet", False)))
    try:
        if getattr(args, "preset", None) == "four-configs":
            results = run_four_configs(cfg, **common)
            print_table(results)
            print(json.dumps({"runs": [r.to_dict() for r in results]}))
        else:
            result = run_training(cfg, run_id=getattr(args, "run_id", None), **common)
            print(json.dumps(result.to_dict()))
    except (DatasetError, ConfigError, ModelError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


def print_table(results) -> None:
    print(f"{'run':44} {'status':13} {'best test acc':>13} {'epoch':>5} {'seconds':>8}")
    for r in results:
        acc = f"{100 * r.best_test_acc:.2f}%" if r.best_test_acc is not None else "–"
        print(f"{r.name:44} {r.status:13} {acc:>13} {str(r.best_epoch or '–'):>5} {r.seconds:8.1f}")
