"""What a list of runs holds and asks: the index row of a run (`RunRow`, read from its run.json),
the filters and orders of a query, and nets.runs.access's rule as SQL."""
from __future__ import annotations

from dataclasses import dataclass, fields

PAGE_SIZE = 50


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

def kept_accuracy(info: dict) -> float | None:
    """The kept model's test accuracy: the final test figure, or while a run trains (or after a
    crash) the best model's accuracy when the test split picked it."""
    test = info.get("test") or {}
    if test.get("accuracy") is not None:
        return test["accuracy"]
    best = info.get("best") or {}
    return best.get("accuracy") if best.get("split") == "test" else None


def row_of(run_id: str, info: dict, has_model: bool, nbytes: int) -> RunRow:
    cfg = info.get("config") or {}
    best = info.get("best") or {}
    return RunRow(
        id=run_id, name=str(info.get("name") or run_id), owner=str(info.get("owner") or ""),
        shared=bool(info.get("shared")), starred=bool(info.get("starred")),
        dataset=str(cfg.get("dataset", "")), model=str(cfg.get("model", "")),
        optimizer=str(cfg.get("optimizer", "")), loss=str(cfg.get("loss", "")),
        backbone=str(cfg.get("backbone") or ""), status=str(info.get("status", "")),
        accuracy=kept_accuracy(info), best_epoch=best.get("epoch"), params=info.get("params"),
        seconds=info.get("seconds"), created=str(info.get("created", "")), has_model=has_model,
        images=has_model and not cfg.get("backbone") and bool(info.get("input_shape")) and bool(info.get("classes")),
        bytes=nbytes, pid=info.get("pid") if isinstance(info.get("pid"), int) else None,
        host=str(info.get("host") or ""))


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
    if flt.text.strip():
        pattern = "%" + flt.text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append("(lower(name) LIKE ? ESCAPE '\\' OR lower(id) LIKE ? ESCAPE '\\')")
        params += [pattern, pattern]
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params
