"""Default run names: what a run is, read off its configuration, short enough for a projector."""
from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePath
from typing import TYPE_CHECKING

from nets.engine.datamod import DataModError, parse
from nets.engine.datamod import short as mod_short

from nets.engine.netspec import short

if TYPE_CHECKING:  # config imports this module for TrainConfig.label(); no import at run time
    from nets.engine.config import TrainConfig

# nets/runs/folder.py turns a name into a folder id by replacing runs of other characters with '-' and
# cutting at 60: a name of at most 60 characters keeps every part of it in the folder id.
MAX_NAME = 60
NAME_LIMIT = 100  # the longest name nets.runs.rename_run accepts
SEP = " · "
LOSS_NAMES = {"ce": "cross-entropy", "mse": "squared error"}  # TrainConfig.loss → the lecture's words
LOSS_SHORT = {"ce": "CE", "mse": "MSE"}
OPTIMIZER_NAMES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop"}  # as papers write them
_SUFFIX = re.compile(r"^(.*) #(\d+)$")


def format_lr(lr: float) -> str:
    """A learning rate as people write it: 0.05, 0.001, 1e-4, 2.5e-5, 1000."""
    if lr >= 1e-3:
        return f"{lr:.4g}"
    mantissa, exp = f"{lr:.3e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e-{int(exp[1:])}"


def _sizes(sizes: tuple[int, ...]) -> str:
    """Hidden sizes: 256-128, 4×256 for a deep stack of equal layers, '5 layers' beyond three."""
    if len(sizes) > 2 and len(set(sizes)) == 1:
        return f"{len(sizes)}×{sizes[0]}"
    if len(sizes) > 3:
        return f"{len(sizes)} layers"
    return "-".join(str(s) for s in sizes)


def _model_part(cfg: TrainConfig, detail: bool = True) -> str:
    part = cfg.model
    if cfg.model == "mlp" and cfg.hidden and detail:
        part += f" {_sizes(tuple(cfg.hidden))}"
    if cfg.model == "custom" and detail:
        part += f" {short(cfg.layers)}" if cfg.layers else ""
    if cfg.activation and cfg.activation.replace("-", "_") != "relu":
        part += f" {cfg.activation}"
    if cfg.batch_norm and detail:
        part += " batch norm"
    if cfg.init and detail:
        part += f" {cfg.init} init"
    if cfg.backbone:
        part = f"{cfg.backbone} features + {part}"   # a head trained on a frozen network's features
    if cfg.pretrained:
        part += " pretrained"
        if detail and cfg.train_blocks == 0:
            part += ", head only"
        elif detail and cfg.train_blocks > 0:
            part += f", last {cfg.train_blocks} block{'s' if cfg.train_blocks > 1 else ''}"
    return part


def _data_part(cfg: TrainConfig, subset: bool = True) -> str:
    part = cfg.dataset
    if cfg.dataset == "folder" and cfg.folder:
        part = PurePath(cfg.folder.rstrip("/\\")).name[:20] or "folder"
    if subset and cfg.train_per_class:
        part += f" {cfg.train_per_class}/class"
    elif subset and cfg.train_fraction < 1:
        part += f" {cfg.train_fraction:.0%}"
    return part


def _mod_part(cfg: TrainConfig, compact: bool = False) -> tuple[str, ...]:
    """The training set's modification (nets.engine.datamod.short): what tells a clean run from a
    modified one, so it stays in every shortened name; () for none or an unreadable one."""
    if not getattr(cfg, "data_mod", ""):
        return ()
    try:
        part = mod_short(parse(cfg.data_mod))
    except DataModError:
        return ()
    return (part.replace(SEP, " ").replace("-fold", ""),) if compact else (part,)


def default_name(cfg: TrainConfig) -> str:
    """Model, dataset, optimizer with its learning rate, and loss, e.g.
    'lenet · mnist-mini · sgd lr 0.05 · cross-entropy'; plus what tells common variants apart (mlp
    hidden sizes, a non-ReLU activation, a frozen backbone, pretrained weights, a data subset, a
    modified training set: 'lenet · mnist-mini · flip 30% · sgd lr 0.05 · CE').
    Ignores cfg.name. At most MAX_NAME characters: less important parts shorten first."""
    opt = f"{cfg.optimizer} lr {format_lr(cfg.lr)}"
    mod, compact = _mod_part(cfg), _mod_part(cfg, compact=True)
    attempts = [
        (_model_part(cfg), _data_part(cfg), *mod, LOSS_NAMES.get(cfg.loss, cfg.loss)),
        (_model_part(cfg), _data_part(cfg), *mod, LOSS_SHORT.get(cfg.loss, cfg.loss)),
        (_model_part(cfg), _data_part(cfg, subset=False), *mod, LOSS_SHORT.get(cfg.loss, cfg.loss)),
        (_model_part(cfg, detail=False), _data_part(cfg, subset=False), *mod, LOSS_SHORT.get(cfg.loss, cfg.loss)),
        (cfg.model, _data_part(cfg, subset=False), *mod, LOSS_SHORT.get(cfg.loss, cfg.loss)),  # the four always fit
    ]
    attempts = [(*a[:-1], opt, a[-1]) for a in attempts]
    if mod:  # a long modification: it tells the runs of a data lesson apart, their optimizer and loss do not
        attempts += [(cfg.model, _data_part(cfg, subset=False), *compact, opt, LOSS_SHORT.get(cfg.loss, cfg.loss)),
                     (cfg.model, _data_part(cfg, subset=False), *compact)]
    for parts in attempts:
        name = SEP.join(parts)
        if len(name) <= MAX_NAME:
            return name
    return name[:MAX_NAME - 1].rstrip(" ·,") + "…"


def is_generated(name: str, cfg: TrainConfig) -> bool:
    """Whether `name` is one the app made for `cfg` (its default name, or that with unique_name's
    '#k', shortened to make room), not one a user typed: such a name is made again from the settings
    whenever they change (a doctor's follow-up must not carry the failed run's 'lr 1000')."""
    name = name.strip()
    if not name:
        return True
    default = default_name(cfg)
    if name == default:
        return True
    m = _SUFFIX.match(name)
    if not m:
        return False
    base = m.group(1)
    return base == default or (len(name) >= MAX_NAME - 3 and default.startswith(base))


def unique_name(name: str, taken: Iterable[str]) -> str:
    """`name`, or `name #2`, `name #3`, … when another run already has it (ignoring case and the
    spaces around it). A name that already ends in #k counts up from there. A default-length name
    stays within MAX_NAME (the base is shortened to make room), a longer one within NAME_LIMIT."""
    taken_keys = {t.strip().casefold() for t in taken}
    name = name.strip()
    if name.casefold() not in taken_keys:
        return name
    m = _SUFFIX.match(name)
    base, k = (m.group(1), int(m.group(2))) if m else (name, 1)
    limit = max(MAX_NAME, min(len(name), NAME_LIMIT))
    while True:
        k += 1
        suffix = f" #{k}"
        candidate = base[:limit - len(suffix)].rstrip(" ·,") + suffix
        if candidate.casefold() not in taken_keys:
            return candidate


def common_part(names: list[str]) -> tuple[str, list[str]]:
    """('lenet · mnist-mini', ['sgd lr 0.001 · cross-entropy', …]): the leading parts all names share,
    and what tells each apart, so four cards side by side need not repeat the same words."""
    parts = [n.split(SEP) for n in names]
    if len(parts) < 2:
        return "", list(names)
    k = 0
    while all(len(p) > k + 1 and p[k] == parts[0][k] for p in parts):
        k += 1
    return SEP.join(parts[0][:k]), [SEP.join(p[k:]) for p in parts]
