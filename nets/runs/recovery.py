"""Start-up recovery of a checkpoints folder after a killed process, idempotent: finished
deletions, stray temporary files and orphaned weights removed, interrupted runs marked, and the
index brought back in line with the folders."""
from __future__ import annotations

import os
import platform
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from nets.files import TMP_SUFFIX, CheckpointError
from nets.runs.dynamics import CHUNK_RE, chunk_names
from nets.runs.folder import WEIGHTS_RE, Run, folder_ids, get_run, index, read_row, update_run
from nets.status import Status


@dataclass
class Recovered:
    interrupted: list[str] = field(default_factory=list)   # runs marked 'interrupted'
    files_removed: list[str] = field(default_factory=list)  # stray temporary files, orphaned weights
    rows_added: list[str] = field(default_factory=list)    # folders the index did not know
    rows_removed: list[str] = field(default_factory=list)  # index rows without a folder

    def __bool__(self) -> bool:
        return bool(self.interrupted or self.files_removed or self.rows_added or self.rows_removed)


def process_alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, TypeError, ValueError):
        return False
    return True


def live(info: dict) -> bool:
    """A run some process on this machine (or on another one: we cannot tell) is still writing."""
    if info.get("status") != Status.RUNNING:
        return False
    return info.get("host") not in (None, platform.node()) or process_alive(info.get("pid"))


def tidy(run: Run) -> list[str]:
    """Remove what a killed writer left in a run folder no one is writing: temporary files, and
    weights files and statistics chunks the record does not point at."""
    removed, chunks = [], chunk_names(run)
    for entry in os.scandir(run.path):
        stray = entry.name.startswith(".") and entry.name.endswith(TMP_SUFFIX)
        orphan = ((WEIGHTS_RE.match(entry.name) and entry.name != run.weights_file)
                  or (CHUNK_RE.match(entry.name) and entry.name not in chunks))
        if entry.is_file() and (stray or orphan):
            Path(entry.path).unlink(missing_ok=True)
            removed.append(f"{run.id}/{entry.name}")
    return removed


def recover(root: Path | str) -> Recovered:
    root = Path(root)
    out = Recovered()
    if not root.is_dir():
        return out
    for entry in os.scandir(root):  # deletions a killed process left half done
        if entry.is_dir() and entry.name.startswith(".deleted-"):
            shutil.rmtree(entry.path, ignore_errors=True)
    idx = index(root)
    out.rows_added, out.rows_removed = idx.sync(folder_ids(root), lambda i: read_row(root, i))
    rows = {r.id: r for r in idx.query(limit=-1)}
    for run_id in folder_ids(root):
        try:
            run = get_run(root, run_id)
        except CheckpointError:
            continue
        if live(run.info):
            continue
        out.files_removed += tidy(run)
        if run.info.get("status") == Status.RUNNING:
            update_run(run, status=Status.INTERRUPTED,
                       note="The process training this run stopped before it finished; the best model "
                            "up to then is kept.")
            out.interrupted.append(run.id)
        elif rows.get(run.id) != run.row():
            idx.put(run.row())  # killed between run.json and its index row
    return out


def recover_interrupted(root: Path | str) -> list[str]:
    """Runs left 'running' by a process that no longer exists become 'interrupted' (with the rest
    of `recover`). Returns their ids."""
    return recover(root).interrupted
