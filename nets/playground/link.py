"""Playground links: a playground configuration, the controls a lecturer locks and optional starting weights, as URL query parameters."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from urllib.parse import urlencode

from nets.playground import data as pdata
from nets.playground import model as pmodel
from nets.playground.state import LEARNING_RATES, REG_RATES, PlaygroundConfig, check
# The Train page's lesson links: the same flag, lock list, value texts and parsing (nets/link/train.py)
from nets.link.train import HIDE, LESSON_FLAG, MAX_VALUE_CHARS, parse_value, value_text, lesson_params

PAGE = "playground"
WEIGHTS = "weights"  # every W (row by row) and b, layer after layer, as model.flat_weights orders them
MAX_WEIGHT_CHARS = 6000  # the largest network (6 layers of 8) needs ~400 numbers
MAX_WEIGHT = pmodel.MAX_WEIGHT  # |w| above this is a broken link
DEFAULTS = PlaygroundConfig()
# name in the URL: (part of PlaygroundConfig, field, its type); the names are the dataclasses' own
FIELDS = {f.name: ("data", f.name, f.type) for f in fields(pdata.DataConfig)}
FIELDS |= {f.name: ("net", f.name, f.type) for f in fields(pmodel.NetConfig)}
FIELDS |= {f.name: ("top", f.name, f.type) for f in fields(PlaygroundConfig) if f.name not in ("data", "net")}


@dataclass(frozen=True)
class PlaygroundLink:
    cfg: PlaygroundConfig
    hidden: frozenset[str] = frozenset()  # the settings a student sees locked
    problems: list[str] = field(default_factory=list)
    weights: tuple[float, ...] | None = None  # the network's starting weights; None: random, as on Reset


def flat(cfg: PlaygroundConfig) -> dict:
    """Every setting by its URL name."""
    parts = {"data": cfg.data, "net": cfg.net, "top": cfg}
    return {name: getattr(parts[part], attr) for name, (part, attr, _) in FIELDS.items()}


def problem(cfg: PlaygroundConfig) -> str | None:
    """Why this configuration cannot train (the page's own messages), or None."""
    try:
        pdata.check(cfg.data)
        pmodel.check(cfg.net, cfg.data.n_classes())
        check(cfg)
        if cfg.learning_rate not in LEARNING_RATES or cfg.net.reg_rate not in REG_RATES:
            raise ValueError("Learning and regularisation rates come from the page's menus.")
        if cfg.data.train_percent % 10 or not 0 <= cfg.net.dropout <= 0.5 or round(cfg.net.dropout * 20, 6) % 1:
            raise ValueError("The training share is a multiple of 10%; dropout 0 to 0.5 in steps of 0.05.")
    except ValueError as e:
        return str(e)
    return None


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


def params(cfg: PlaygroundConfig, hidden=frozenset(), weights=None) -> dict[str, str]:
    """The query parameters of a link: only settings that differ from the defaults."""
    default = flat(DEFAULTS)
    result = {LESSON_FLAG: "1"} | {k: value_text(v) for k, v in flat(cfg).items() if v != default[k]}
    locked = [name for name in FIELDS if name in hidden]
    if locked:
        result[HIDE] = ",".join(locked)
    if weights is not None:
        result[WEIGHTS] = ",".join(f"{w:.6g}" for w in weights)
    return result


def encode(cfg: PlaygroundConfig, hidden=frozenset(), base_url: str | None = "", weights=None) -> str:
    """The link to the Playground with `cfg`, locking `hidden`, its network starting from `weights` if given."""
    query = urlencode(params(cfg, hidden, weights), safe=",")
    root = (base_url or "").split("?")[0].split("#")[0].rstrip("/")
    if not root:
        return "?" + query
    return f"{root if root.endswith('/' + PAGE) else root + '/' + PAGE}?{query}"


def decode(params: Mapping) -> PlaygroundLink:
    """The configuration in `params`. Never raises: a setting that cannot be read, is unknown or makes
    the configuration invalid keeps its default and is named in `problems`."""
    problems, values, hidden, weights = [], {}, set(), None
    for key, raw in lesson_params(params).items():
        if key == LESSON_FLAG:
            continue
        if key == WEIGHTS:
            try:
                if len(raw) > MAX_WEIGHT_CHARS:
                    raise ValueError(f"the value is longer than {MAX_WEIGHT_CHARS} characters")
                weights = tuple(parse_value("float", w) for w in raw.split(","))
            except ValueError as e:
                problems.append(f"{WEIGHTS} ({str(e).rstrip('.')})")
        elif len(raw) > MAX_VALUE_CHARS:
            problems.append(f"{key[:40]} (the value is longer than {MAX_VALUE_CHARS} characters)")
        elif key == HIDE:
            for name in filter(None, (n.strip() for n in raw.split(","))):
                if name in FIELDS:
                    hidden.add(name)
                else:
                    problems.append(f"hide ('{name[:40]}' is not a setting)")
        elif key not in FIELDS:
            problems.append(f"{key[:40]} (not a setting of this page)")
        else:
            try:
                values[key] = parse_value(FIELDS[key][2], raw)
            except ValueError as e:
                problems.append(f"{key} ({str(e).rstrip('.')})")
    cfg = DEFAULTS.changed(**values) if values else DEFAULTS
    if problem(cfg) is not None:  # keep each setting that still trains, in declaration order
        cfg = DEFAULTS
        for key in (k for k in FIELDS if k in values):
            candidate = cfg.changed(**{key: values[key]})
            why = problem(candidate)
            if why is None:
                cfg = candidate
            else:
                problems.append(f"{key}={value_text(values[key])} ({why.rstrip('.')})")
    if weights is not None and (why := weights_problem(cfg, weights)):
        problems.append(f"{WEIGHTS} ({why}; the network starts from random weights)")
        weights = None
    return PlaygroundLink(cfg, frozenset(hidden), problems, weights)
