"""Changing saved runs on someone's behalf: rename, share, star, delete, the lecturer's clean-up,
and the disk they take. Every change asks nets.runs.access whether `who` may make it."""
from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from nets.files import CheckpointError
from nets.runs.access import Access
from nets.runs.folder import Run, get_run, index, update_run
from nets.runs.index import INDEX_FILE
from nets.runs.recovery import live
from nets.runs.rows import RunFilter
from nets.status import UNFINISHED, Status

NAME_LIMIT = 100


def _modifiable(root, run_id: str, who: Access) -> Run:
    run = get_run(root, run_id)
    if not who.can_modify(run.info):
        raise CheckpointError(who.why_not(run.info) or "You may not change this run.")
    return run


def rename_run(root: Path | str, run_id: str, new_name: str, who: Access) -> Run:
    new_name = new_name.strip()
    if not new_name or len(new_name) > NAME_LIMIT:
        raise CheckpointError(f"A run name must have 1 to {NAME_LIMIT} characters.")
    run = _modifiable(root, run_id, who)
    update_run(run, name=new_name)
    return run


def set_starred(root: Path | str, run_id: str, starred: bool, who: Access) -> Run:
    """A starred run survives the lecturer's clean-up."""
    run = _modifiable(root, run_id, who)
    update_run(run, starred=bool(starred))
    return run


def set_shared(root: Path | str, run_id: str, shared: bool, who: Access) -> Run:
    if not who.lecturer:
        raise CheckpointError("Only the lecturer shares runs with the class.")
    run = get_run(root, run_id)
    update_run(run, shared=bool(shared))
    return run


def delete_run(root: Path | str, run_id: str, who: Access) -> int:
    """Delete a run and its files; returns the bytes freed. A run that is training is refused: its
    job would lose its folder under it (stop it first; a run left 'running' by a dead process can go)."""
    run = _modifiable(root, run_id, who)
    if live(run.info):
        raise CheckpointError("This run is still training: Stop it first (on the Train page), then delete it.")
    freed = run.row().bytes
    # Renamed first, so a half-deleted folder never shows up; start-up recovery finishes the job.
    trash = run.path.with_name(f".deleted-{run.id}-{uuid.uuid4().hex[:6]}")
    os.replace(run.path, trash)
    index(root).remove(run.id)
    shutil.rmtree(trash, ignore_errors=True)
    return freed


@dataclass
class CleanUp:
    removed: list[str]
    bytes_freed: int

    def message(self) -> str:
        return (f"Removed {len(self.removed)} run(s), freeing {size_text(self.bytes_freed)}."
                if self.removed else "Nothing to remove.")


def size_text(n: int) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 / 10 else f"{n / 2**10:,.0f} KB"


def cutoff(older_than_days: float, now: float | None = None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime((now or time.time()) - older_than_days * 86400))


def clean_up_candidates(root: Path | str, older_than_days: float = 0, statuses=UNFINISHED,
                        now: float | None = None) -> list:
    """Index rows the clean-up would delete: unfinished, not starred, created more than
    `older_than_days` days ago (0: any age). A running run is never among them."""
    statuses = tuple(s for s in statuses if s != Status.RUNNING)
    if not statuses:
        return []
    return index(root).unfinished_before(statuses, cutoff(older_than_days, now) if older_than_days else "9999")


def clean_up(root: Path | str, who: Access, older_than_days: float = 0, statuses=UNFINISHED,
             now: float | None = None) -> CleanUp:
    """The lecturer's clean-up policy: delete unfinished runs older than N days, keep starred ones."""
    if not who.everything:
        raise CheckpointError("Only the lecturer cleans up the class's runs.")
    removed, freed = [], 0
    for row in clean_up_candidates(root, older_than_days, statuses, now):
        try:
            freed += delete_run(root, row.id, who)
            removed.append(row.id)
        except (CheckpointError, OSError):
            continue  # deleted meanwhile, or unreadable: the next clean-up tries again
    return CleanUp(removed, freed)


LOOSE_TTL_S = 30.0  # how long the loose files' total is reused: sixty Train presses a minute list the folder twice
_loose: dict[str, tuple[float, int]] = {}  # root: (when counted, bytes), this process's cache


def disk_usage(root: Path | str, fresh: bool = False) -> int:
    """Bytes used under the checkpoints folder: the runs (from the index: one SQL sum, no walk) and the
    loose files beside them (listed at most every LOOSE_TTL_S seconds, or now when `fresh`)."""
    root = Path(root)
    if not root.is_dir():
        return 0
    counted = _loose.get(str(root))
    if fresh or counted is None or time.monotonic() - counted[0] > LOOSE_TTL_S:
        counted = (time.monotonic(), sum(_size(e) for e in os.scandir(root)))
        _loose[str(root)] = counted
    return index(root).total_bytes() + counted[1]


def _size(entry: os.DirEntry) -> int:
    """A loose file's size; 0 for a folder, or for a file removed since the folder was listed (SQLite's
    -wal and -shm files come and go while another process writes the index)."""
    try:
        return entry.stat().st_size if entry.is_file() else 0
    except FileNotFoundError:
        return 0


def owner_usage(root: Path | str, owner: str) -> int:
    """Bytes of one owner's runs, from the index."""
    if not owner or not Path(root).is_dir():
        return 0
    viewer = _Viewer(owner)
    return sum(r.bytes for r in index(root).query(RunFilter(scope="mine"), viewer, limit=-1))


@dataclass(frozen=True)
class _Viewer:
    """The index's idea of a viewer (nets.runs.access.Access's owner and scope), for one owner's rows."""
    owner: str
    everything: bool = True


def disk_budget_problem(root: Path | str, budget_bytes: int) -> str | None:
    """Why the server's runs folder takes no new run (over its budget), or None. Names no path."""
    if not budget_bytes:
        return None
    used = disk_usage(root)
    if used < budget_bytes:
        return None
    return (f"The server's runs use {used / 2**20:,.0f} MB of their {budget_bytes / 2**20:,.0f} MB disk budget: "
            "delete runs in Runs (or ask the lecturer to clean up failed and interrupted ones) before training "
            "again; the lecturer can raise NNLAB_DISK_BUDGET_MB.")


def check_disk_budget(root: Path | str, budget_bytes: int) -> None:
    if problem := disk_budget_problem(root, budget_bytes):
        raise CheckpointError(problem)


__all__ = ["UNFINISHED", "CleanUp", "check_disk_budget", "clean_up", "clean_up_candidates", "delete_run",
           "disk_budget_problem", "disk_usage", "owner_usage", "rename_run", "set_shared", "set_starred", "INDEX_FILE"]
