"""The Train page's lesson links: a configuration, the four-configuration switch, an inside-training lesson and the locked controls, in the codec's table.

Every TrainConfig field is a field of the table, with its type and default; the ranges and menus are
checked as validate() checks a configuration (nets.engine.options.SETTINGS), so the table's check is
validate(). `four` (train as the coursework's four configurations) rides along, and can be locked.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from nets.engine import netspec
from nets.engine.config import ConfigError, TrainConfig, validate
from nets.link.codec import Field, Table

FOUR = "four"
INSIDE = "inside"  # which inside-training lesson (nets.link.inside) asks its question on the page; "" none
FIELD_TYPES = {f.name: f.type for f in fields(TrainConfig)}  # the configuration's settings and their types
DEFAULTS = TrainConfig()


def config(values: dict) -> TrainConfig:
    """The configuration in a table's values (`four` is not part of it)."""
    return TrainConfig(**{name: values[name] for name in FIELD_TYPES if name in values})


def _check(values: dict) -> str | None:
    try:
        validate(config(values))
    except ConfigError as e:
        return str(e)
    return None


# A network's layers have their own text form (conv_6_k5_p2,relu,...), longer than other settings.
LAYERS = dict(write_text=netspec.to_text, read_text=netspec.from_text, max_chars=netspec.MAX_TEXT)
TABLE = Table("train", tuple(Field(name, kind, getattr(DEFAULTS, name), **(LAYERS if name == "layers" else {}))
                             for name, kind in FIELD_TYPES.items())
              + (Field(FOUR, "bool", False), Field(INSIDE, "str", "", lockable=False, max_chars=40)), _check)


@dataclass(frozen=True)
class Lesson:
    cfg: TrainConfig
    hidden: frozenset[str] = frozenset()   # the settings a student sees locked (and "four", the switch)
    problems: list[str] = field(default_factory=list)
    four: bool = False
    inside: str = ""                       # an inside-training lesson's key (nets.link.inside), or ""


def encode(cfg: TrainConfig, hidden=frozenset(), base_url: str | None = "", four: bool = False,
           inside: str = "") -> str:
    """The lesson URL for `cfg` on the Train page, locking the `hidden` controls; relative ("?…") without a base."""
    return TABLE.encode({name: getattr(cfg, name) for name in FIELD_TYPES} | {FOUR: four, INSIDE: inside}, hidden,
                        base_url)


def decode(params) -> Lesson:
    """The lesson in `params`. Never raises: each setting that cannot be read, is unknown, or makes
    the configuration invalid keeps its default and is named in `problems` (the codec's one rule)."""
    link = TABLE.decode(params)
    return Lesson(config(link.values), link.locked, link.problems, link.values[FOUR], link.values[INSIDE])
