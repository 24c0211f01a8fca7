"""The Build page's links: dataset, layers and exercise in the codec's table."""
# A link shares the network being built, not a configuration that trains: a lecturer may well share a
# broken network for the class to fix, so the table's check is netspec's structural one only (types,
# settings, ranges, length); the shapes are the page's to show, with their fixes.
from __future__ import annotations

from dataclasses import dataclass, field, replace

from nets.engine import netspec
from nets.engine.config import DEFAULTS as CONFIG_DEFAULTS, TrainConfig
from nets.engine.options import OPTIONS, SETTINGS
from nets.engine.catalog import SHAPES
from nets.link.codec import Field, Table
from nets.link.exercises import BY_KEY

DATASET, LAYERS, BATCH, EXERCISE, CASE = "dataset", "layers", "batch_size", "exercise", "case"
DEFAULT_DATASET, DEFAULT_BATCH = "mnist-mini", 64
CASES = tuple(c.key for e in BY_KEY.values() for c in e.cases)


def _read_layers(raw: str) -> tuple:
    return netspec.from_text(raw)  # SpecError is a ParseError, a ValueError naming the bad token


def _check(values: dict) -> str | None:
    return netspec.problem(values[LAYERS])


_batch = SETTINGS["batch_size"]
TABLE = Table("build", (
    Field(DATASET, "str", DEFAULT_DATASET, choices=tuple(SHAPES)),
    Field(LAYERS, "tuple[dict, ...]", (), read_text=_read_layers, write_text=netspec.to_text,
          max_chars=netspec.MAX_TEXT),
    Field(BATCH, "int", DEFAULT_BATCH, bounds=(int(_batch.lo), int(_batch.hi), 1)),
    Field(EXERCISE, "str", "", choices=("", *BY_KEY), lockable=False, max_chars=40),
    Field(CASE, "str", "", choices=("", *CASES), lockable=False, max_chars=40),
), _check)


@dataclass(frozen=True)
class BuildLink:
    dataset: str = DEFAULT_DATASET
    layers: tuple = ()
    batch_size: int = DEFAULT_BATCH
    exercise: str = ""
    case: str = ""
    hidden: frozenset[str] = frozenset()
    problems: list[str] = field(default_factory=list)


def encode(layers, dataset: str = DEFAULT_DATASET, batch_size: int = DEFAULT_BATCH, exercise: str = "",
           case: str = "", hidden=frozenset(), base_url: str | None = "") -> str:
    """The link to the Build page with this network; relative ("?…") without a base URL."""
    values = {DATASET: dataset, LAYERS: tuple(netspec.normal(d) for d in layers), BATCH: batch_size,
              EXERCISE: exercise, CASE: case}
    return TABLE.encode(values, hidden, base_url)


def decode(params) -> BuildLink:
    """The network in `params`. Never raises: what cannot be read keeps its default and is named in
    `problems` (the codec's one rule)."""
    link = TABLE.decode(params)
    v = link.values
    return BuildLink(v[DATASET], tuple(v[LAYERS]), v[BATCH], v[EXERCISE], v[CASE], link.locked, link.problems)


def train_config(cfg: TrainConfig, layers, dataset: str, batch_size: int) -> TrainConfig:
    """What "Train this network" puts in the Train form: `cfg` (the form's settings) with this network on
    this dataset; the other models' options back to their defaults, the run's name made afresh."""
    unused = {name: CONFIG_DEFAULTS[name] for name, o in OPTIONS.items() if o.per_model and name != LAYERS}
    return replace(cfg, **unused, model="custom", layers=tuple(layers), dataset=dataset, folder="", backbone="",
                   batch_size=int(batch_size), name="")
