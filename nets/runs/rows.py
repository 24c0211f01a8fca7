"""What a list of runs holds and asks: the index row of a run (`RunRow`, read from its run.json,
whatever types a hand-edited file holds), the filters and orders of a query, and nets.runs.access's
rule as SQL."""
from __future__ import annotations

import numbers
from dataclasses import dataclass, fields

PAGE_SIZE = 50
MAX_SEARCH_CHARS = 100   # no name or id is longer; SQLite refuses LIKE patterns above 50,000
DAMAGED = "damaged"      # the status shown for a run whose run.json holds a wrong type


@dataclass(frozen=True)
class RunRow:
    """What a list of runs shows and filters on; the rest is in the run folder."""
    id: str
    name: str = ""
    owner: str = ""
    shared: bool = False
    starred: bool = False
    dataset: str = ""
    model: str = ""
    optimizer: str = ""
    loss: str = ""
    backbone: str = ""
    status: str = ""
    accuracy: float | None = None    # test accuracy of the kept model (see kept_accuracy)
    best_epoch: int | None = None
    params: int | None = None
    seconds: float | None = None
    created: str = ""
    has_model: bool = False
    images: bool = False             # the model reads images (not a head on frozen features)
    bytes: int = 0
    pid: int | None = None
    host: str = ""

    @property
    def info(self) -> dict:
        """The fields nets.runs.access reads."""
        return {"owner": self.owner, "shared": self.shared}


COLUMNS = [f.name for f in fields(RunRow)]

def _text(value, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _number(value):
    """An int or float from a record, None for anything else (a bool, a text, a list)."""
    return value if isinstance(value, numbers.Real) and not isinstance(value, bool) else None


def _int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


_TEXT = ("id", "name", "owner", "status", "created", "finished", "host", "weights", "device")
_FLAGS = ("shared", "starred")
_NUMBERS = ("params", "seconds", "pid", "num_classes", "epochs_run")
_DICTS = ("config", "best", "test")


def _config_problem(cfg: dict) -> str | None:
    from nets.engine.config import TrainConfig  # the settings' types (imported late: torch comes with it)
    kinds = {f.name: f.type for f in fields(TrainConfig)}
    for key, value in cfg.items():
        kind = kinds.get(key)
        if kind is None or (value is None and kind.endswith("| None")):
            continue  # a setting of an older or newer version, or an "auto"
        kind = kind.removesuffix(" | None")
        ok = {"str": isinstance(value, str), "bool": isinstance(value, bool), "int": _int(value) is not None,
              "float": _number(value) is not None}.get(kind)
        if ok is None and kind == "tuple[dict, ...]":  # a network's layers: flat dicts of numbers and words
            ok = isinstance(value, (list, tuple)) and all(
                isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, (str, int, float))
                                            for k, x in v.items()) for v in value)
        if ok is None:  # a tuple: a list of numbers or of texts
            ok = isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value)
        if not ok:
            return f"the setting '{key[:40]}' is a {type(value).__name__}"
    return None


def record_problem(info) -> str | None:
    """Why a run.json's fields cannot be used as they are (one written or copied by hand: a name that
    is a dict, a status that is null, a list for a number), or None when every field has its type."""
    if not isinstance(info, dict):
        return "it is not a record"
    for key in _TEXT:
        if info.get(key) is not None and not isinstance(info[key], str):
            return f"its {key} is a {type(info[key]).__name__}, not text"
    for key in _FLAGS:
        if info.get(key) is not None and not isinstance(info[key], bool):
            return f"its {key} is a {type(info[key]).__name__}, not true or false"
    for key in _NUMBERS:
        if info.get(key) is not None and _number(info[key]) is None:
            return f"its {key} is a {type(info[key]).__name__}, not a number"
    for key in _DICTS:
        if info.get(key) is not None and not isinstance(info[key], dict):
            return f"its {key} is a {type(info[key]).__name__}, not a record"
    for key in ("history", "classes", "input_shape"):
        if info.get(key) is not None and not isinstance(info[key], list):
            return f"its {key} is a {type(info[key]).__name__}, not a list"
    if not all(isinstance(c, str) for c in info.get("classes") or []):
        return "its classes are not all text"
    for key in ("best", "test"):
        part = _dict(info.get(key))
        for field in ("accuracy", "loss", "epoch"):
            if part.get(field) is not None and _number(part[field]) is None:
                return f"its {key} {field} is a {type(part[field]).__name__}, not a number"
    return _config_problem(_dict(info.get("config")))


def kept_accuracy(info: dict) -> float | None:
    """The kept model's test accuracy: the final test figure, or while a run trains (or after a
    crash) the best model's accuracy when the test split picked it."""
    test = _dict(info.get("test"))
    if _number(test.get("accuracy")) is not None:
        return test["accuracy"]
    best = _dict(info.get("best"))
    return _number(best.get("accuracy")) if best.get("split") == "test" else None


def row_of(run_id: str, info: dict, has_model: bool, nbytes: int) -> RunRow:
    """The index row of a run. A field of the wrong type (a run.json edited or copied in by hand)
    never reaches the index or a page: it reads as missing, and the row's status says 'damaged'."""
    info = _dict(info)
    cfg, best = _dict(info.get("config")), _dict(info.get("best"))
    damaged = record_problem(info) is not None
    return RunRow(
        id=run_id, name=_text(info.get("name")) or run_id, owner=_text(info.get("owner")),
        shared=info.get("shared") is True, starred=info.get("starred") is True,
        dataset=_text(cfg.get("dataset")), model=_text(cfg.get("model")),
        optimizer=_text(cfg.get("optimizer")), loss=_text(cfg.get("loss")),
        backbone=_text(cfg.get("backbone")), status=DAMAGED if damaged else _text(info.get("status")),
        accuracy=kept_accuracy(info), best_epoch=_int(best.get("epoch")), params=_int(info.get("params")),
        seconds=_number(info.get("seconds")), created=_text(info.get("created")), has_model=has_model,
        images=(has_model and not damaged and not cfg.get("backbone") and bool(info.get("input_shape"))
                and bool(info.get("classes"))),
        bytes=int(nbytes), pid=_int(info.get("pid")), host=_text(info.get("host")))


@dataclass(frozen=True)
class RunFilter:
    """A query on the index. `scope`: "all" (everything the viewer may see), "mine" or "shared"."""
    scope: str = "all"
    dataset: str = ""
    model: str = ""
    status: str = ""
    text: str = ""          # in the name or id, case-insensitive
    has_model: bool = False
    images: bool = False    # only runs whose model classifies images
    starred: bool = False
    models: tuple[str, ...] = ()      # any of these architectures (nets.engine.models.MODELS names)
    features: bool | None = None      # True: heads on frozen features only; False: none of them
    id: str = ""                      # this one run only (is it visible and does it pass the rest?)

    def matches_text(self, name: str, run_id: str) -> bool:
        """Whether a run of this name and id passes the search text, as where() asks SQLite (whose
        lower() folds ASCII letters only): a renamed run that no longer does would leave the table."""
        text = _ascii_lower(self.text.strip()[:MAX_SEARCH_CHARS])
        return not text or text in _ascii_lower(name) or text in _ascii_lower(run_id)


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


ORDERS = {"newest": "created DESC, id DESC", "oldest": "created ASC, id ASC",
          "accuracy": "accuracy IS NULL, accuracy DESC, created DESC", "name": "name COLLATE NOCASE, created DESC"}


def where(flt: RunFilter, viewer) -> tuple[str, list]:
    """SQL for the filter and for nets.runs.access's rule (Access.can_view), stated for the index."""
    clauses, params = [], []
    if viewer is not None and not viewer.everything:
        clauses.append("(owner = '' OR owner = ? OR shared = 1)")
        params.append(viewer.owner)
    if flt.scope == "mine":
        clauses.append("owner = ? AND owner != ''")
        params.append(viewer.owner if viewer is not None else "")
    elif flt.scope == "shared":
        clauses.append("shared = 1")
    elif flt.scope != "all":
        raise ValueError(f"scope {flt.scope!r} is not one of all, mine, shared")
    for column in ("dataset", "model", "status"):
        if getattr(flt, column):
            clauses.append(f"{column} = ?")
            params.append(getattr(flt, column))
    for column in ("has_model", "images", "starred"):
        if getattr(flt, column):
            clauses.append(f"{column} = 1")
    if flt.id:
        clauses.append("id = ?")
        params.append(flt.id)
    if flt.models:
        clauses.append(f"model IN ({', '.join('?' * len(flt.models))})")
        params += list(flt.models)
    if flt.features is not None:
        clauses.append("backbone != ''" if flt.features else "backbone = ''")
    text = flt.text.strip()[:MAX_SEARCH_CHARS]  # a longer text matches nothing anyway
    if text:
        pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append("(lower(name) LIKE ? ESCAPE '\\' OR lower(id) LIKE ? ESCAPE '\\')")
        params += [pattern, pattern]
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params
