"""A run's layer statistics on disk: one compressed chunk per epoch (dynamics-e0001.npz), named in run.json once written."""
from __future__ import annotations

import io
import re

import numpy as np

from nets.engine.stats import ARRAYS, Dynamics, concat
from nets.files import atomic_write_bytes
from nets.runs.folder import Run, update_run

CHUNK_RE = re.compile(r"^dynamics-e\d{4}(-part\d*)?\.npz$")
KEY = "dynamics"  # run.info[KEY] = {"plan": {...}, "chunks": [file names, in order]}


def chunk_name(epoch: int, part: bool = False, taken=()) -> str:
    """The file name of an epoch's chunk; a part (a run cut short mid-epoch) gets a free suffix."""
    name = f"dynamics-e{epoch:04d}.npz"
    if not part:
        return name
    k = 0
    while (name := f"dynamics-e{epoch:04d}-part{k or ''}.npz") in taken:
        k += 1
    return name


def write_chunk(run: Run, records: Dynamics, epoch: int, part: bool = False, **changes) -> str | None:
    """Write `records` as the next chunk, then name it in run.json (with `changes`, in the same
    update). Nothing is written for no records (`changes` are still saved)."""
    if not len(records):
        if changes:
            update_run(run, **changes)
        return None
    info = dict(run.info.get(KEY) or {"plan": records.plan(), "chunks": []})
    name = chunk_name(epoch, part, set(info["chunks"]))
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: v for k, v in records.arrays().items() if k in ARRAYS})
    atomic_write_bytes(run.path / name, buf.getvalue())
    update_run(run, **{KEY: {"plan": info["plan"], "chunks": [*info["chunks"], name]}}, **changes)
    return name


def has_dynamics(run: Run) -> bool:
    return bool((run.info.get(KEY) or {}).get("chunks"))


def read_dynamics(run: Run) -> Dynamics | None:
    """Every recorded step of a run, or None when it recorded none. A damaged or missing chunk is
    skipped (the others still read); names that are not chunk names are never opened."""
    info = run.info.get(KEY) or {}
    chunks = [c for c in info.get("chunks", []) if isinstance(c, str) and CHUNK_RE.match(c)]
    try:
        empty = Dynamics.from_plan(info["plan"])
    except (KeyError, TypeError, ValueError):
        return None
    parts = []
    for name in chunks:
        try:
            with np.load(run.path / name, allow_pickle=False) as z:
                parts.append(Dynamics(**empty.plan(), **{k: z[k] for k in ARRAYS}))
        except (OSError, ValueError, KeyError, EOFError):
            continue
    return concat([empty, *parts]) if parts else None


def chunk_names(run: Run) -> set[str]:
    """The chunks run.json names (recovery removes any other dynamics file: a write cut off by a kill)."""
    return set((run.info.get(KEY) or {}).get("chunks", []))
