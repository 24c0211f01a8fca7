"""A work rebuilt from its spec in a worker or a Ray task: the class it names, checked to be the app's and a Work."""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from nets.work import WORK_KEY, Work

ROOT = Path(__file__).resolve().parent.parent.parent  # the app's folder
# what a class needs to be a Work: the protocol's attributes and methods, read off it (stated once)
ATTRIBUTES = tuple(Work.__annotations__) + tuple(n for n in vars(Work) if not n.startswith("_"))


class WorkError(ValueError):
    """A spec that names no work this app has."""


def own_code(module: str) -> bool:
    """Whether `module` is this app's code: nets' own, or a file in the app's folder (its tests), never an
    installed package. Only such a module is imported for a spec."""
    if module.startswith("nets."):
        return True
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return False
    if found is None or not found.origin or not Path(found.origin).is_file():
        return False
    origin = Path(found.origin).resolve()
    inside = origin.relative_to(ROOT).parts if origin.is_relative_to(ROOT) else ()
    return bool(inside) and not any(p.startswith(".") or p == "site-packages" for p in inside)


def work_class(path: str) -> type:
    """The class a spec names: a class of the app (nets', see own_code) with every Work attribute, else WorkError."""
    module, _, name = str(path).partition(":")
    if not module or not name.isidentifier() or not own_code(module):
        raise WorkError(f"This worker cannot run {path!r}: not a work of this app.")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise WorkError(f"This worker cannot run {path!r}: {e}.") from e
    if not isinstance(cls, type) or any(not hasattr(cls, a) for a in ATTRIBUTES if a not in ("run_id",)):
        raise WorkError(f"This worker cannot run {path!r}: it is not a Work.")
    return cls


def from_spec(spec: dict) -> Work:
    """The work a spec describes, rebuilt by the class it names."""
    return work_class(spec.get(WORK_KEY, "")).from_spec(spec)
