"""Playground links: the Playground's field table (what each control offers), its locked controls and optional starting weights, as URL query parameters.

The table is the codec's (nets.link.codec): one Field per setting, named as the dataclasses name it,
with the menu (choices) or the slider's range (bounds) the page draws; the page's controls, their
loading from a link and their locks are driven by it (pages/playground.py). A link's starting weights
are settled after the settings, against the network they make.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from nets.link.codec import Field, Table
from nets.playground import data as pdata
from nets.playground import features as feats
from nets.playground import model as pmodel
from nets.playground.state import BATCH_SIZES, LEARNING_RATES, REG_RATES, PlaygroundConfig, check

PAGE = "playground"
WEIGHTS = "weights"  # every W (row by row) and b, layer after layer, as model.flat_weights orders them
MAX_WEIGHT_CHARS = 6000  # the largest network (6 layers of 8) needs ~400 numbers
MAX_WEIGHT = pmodel.MAX_WEIGHT  # |w| above this is a broken link
DEFAULTS = PlaygroundConfig()
# What each control offers: a menu's choices or a slider's (low, high, step); a setting without either
# takes any value of its type that the configuration's own checks accept
ALLOWED = {
    "dataset": dict(choices=pdata.DATASETS),
    "noise": dict(bounds=(0, 50, 1)),
    "train_percent": dict(bounds=(10, 90, 10)),
    "classes": dict(bounds=(3, 6, 1)),
    "hidden": dict(bounds=(1, pmodel.MAX_NEURONS, 1)),
    "activation": dict(choices=tuple(pmodel.ACTIVATIONS)),
    "loss": dict(choices=pmodel.LOSSES),
    "dropout": dict(bounds=(0.0, 0.5, 0.05)),
    "regularization": dict(choices=pmodel.REGULARIZATION),
    "reg_rate": dict(choices=REG_RATES),
    "features": dict(choices=tuple(feats.FEATURES)),
    "learning_rate": dict(choices=LEARNING_RATES),
    "batch_size": dict(bounds=(*BATCH_SIZES, 1)),
}
# The settings in the dataclasses' order (the URL's, the locks' and the fallback's): the data, the network, the rest
_SETTINGS = [(f, DEFAULTS.data) for f in fields(pdata.DataConfig)] + [(f, DEFAULTS.net) for f in fields(pmodel.NetConfig)]
_SETTINGS += [(f, DEFAULTS) for f in fields(PlaygroundConfig) if f.name not in ("data", "net")]
_PART = {f.name: "data" for f in fields(pdata.DataConfig)} | {f.name: "net" for f in fields(pmodel.NetConfig)}
FIELDS = {f.name: Field(f.name, f.type, getattr(part, f.name), **ALLOWED.get(f.name, {})) for f, part in _SETTINGS}


@dataclass(frozen=True)
class PlaygroundLink:
    cfg: PlaygroundConfig
    hidden: frozenset[str] = frozenset()  # the settings a student sees locked
    problems: list[str] = field(default_factory=list)
    weights: tuple[float, ...] | None = None  # the network's starting weights; None: random, as on Reset


def flat(cfg: PlaygroundConfig) -> dict:
    """Every setting by its URL name."""
    parts = {"data": cfg.data, "net": cfg.net}
    return {name: getattr(parts.get(_PART.get(name), cfg), name) for name in FIELDS}


def config(values: Mapping) -> PlaygroundConfig:
    """The configuration in a table's values (the weights are not part of it)."""
    return DEFAULTS.changed(**{name: values[name] for name in FIELDS if name in values})


def _settings_problem(cfg: PlaygroundConfig) -> str | None:
    try:
        pdata.check(cfg.data)
        pmodel.check(cfg.net, cfg.data.n_classes())
        check(cfg)
    except ValueError as e:
        return str(e)
    return None


def problem(cfg: PlaygroundConfig) -> str | None:
    """Why this configuration cannot train, or is not one the page's controls can show; or None."""
    return TABLE.refusal(flat(cfg)) or _settings_problem(cfg)


def weight_count(cfg: PlaygroundConfig) -> int:
    """How many numbers a link's weights hold for `cfg` (W and b of every layer; batch norm's are not carried)."""
    k = cfg.data.n_classes()
    return pmodel.parameter_count(len(cfg.features), cfg.net.hidden, k if k > 2 else 1)


def weights_problem(cfg: PlaygroundConfig, weights) -> str | None:
    """Why `weights` cannot start `cfg`'s network, or None."""
    if cfg.net.batch_norm:
        return "starting weights need a network without batch norm"
    if len(weights) != weight_count(cfg):
        return f"this network has {weight_count(cfg)} weights and biases, the link gives {len(weights)}"
    if not all(math.isfinite(w) and abs(w) <= MAX_WEIGHT for w in weights):
        return f"every weight is a number from -{MAX_WEIGHT:g} to {MAX_WEIGHT:g}"
    return None


def _check(values: dict) -> str | None:
    """Why the table's values do not go together: the settings' own checks, then the weights against them."""
    cfg = config(values)
    if why := _settings_problem(cfg):
        return why
    weights = values.get(WEIGHTS)
    if weights is not None and (why := weights_problem(cfg, weights)):
        return f"{why}; the network starts from random weights"
    return None


TABLE = Table(PAGE, (*FIELDS.values(), Field(WEIGHTS, "tuple[float, ...]", None, lockable=False, after=True,
                                               digits=6, max_chars=MAX_WEIGHT_CHARS)), _check)


def params(cfg: PlaygroundConfig, hidden=frozenset(), weights=None) -> dict[str, str]:
    """The query parameters of a link: only settings that differ from the defaults."""
    return TABLE.params(flat(cfg) | {WEIGHTS: None if weights is None else tuple(weights)}, hidden)


def encode(cfg: PlaygroundConfig, hidden=frozenset(), base_url: str | None = "", weights=None) -> str:
    """The link to the Playground with `cfg`, locking `hidden`, its network starting from `weights` if given."""
    return TABLE.encode(flat(cfg) | {WEIGHTS: None if weights is None else tuple(weights)}, hidden, base_url)


def decode(params: Mapping) -> PlaygroundLink:
    """The configuration in `params`. Never raises: a setting that cannot be read, is unknown or makes
    the configuration invalid keeps its default and is named in `problems` (the codec's one rule)."""
    link = TABLE.decode(params)
    return PlaygroundLink(config(link.values), link.locked, link.problems, link.values[WEIGHTS])
