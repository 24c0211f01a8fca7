"""What the lecturer's server view shows: every job with its owner, device, elapsed time and
memory, and the worker processes. Plain rows built from the job service's snapshots."""
from __future__ import annotations

import time
from pathlib import Path

from nets.server.identity import shown_name
from nets.status import Status


def rss_mb(pid: int | None) -> int | None:
    """A process's resident memory in whole MB, from /proc (Linux); None where it cannot be read."""
    if not pid:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024)
    except (OSError, ValueError, IndexError):
        return None
    return None


def memory_of(worker: dict) -> int | None:
    """A worker's memory: as it reported it (a Ray task, maybe on another machine), else from /proc here."""
    if worker.get("memory_mb") is not None:
        return round(worker["memory_mb"])
    return None if worker.get("node") else rss_mb(worker.get("pid"))


def elapsed(started: float | None, ended: float | None, now: float | None = None) -> float | None:
    if started is None:
        return None
    return (ended or now or time.time()) - started


def owner_text(owner: str | None) -> str:
    """An owner as the lecturer reads it: 'ana', not 'name:ana'; a tab without a name is not 'this tab'."""
    if not owner:
        return "—"
    return "a tab without a name" if owner.startswith("anon:") else shown_name(owner)


def job_rows(views, workers: list[dict], now: float | None = None) -> list[dict]:
    """One row per job, active ones first: who, what, where it runs, for how long, with how much memory."""
    by_job = {w["job"]: w for w in workers if w.get("job")}
    rows = []
    for v in sorted(views, key=lambda v: (not v.active, -(v.created or 0))):
        w = by_job.get(v.id)
        device = (v.started_info or {}).get("device") or ("" if not v.active else "starting")
        if w and w.get("gpu"):
            device = f"{device} (GPU {w['gpu']})"
        rows.append({"id": v.id, "owner": owner_text(v.owner), "job": v.label, "status": v.status,
                     "device": device, "worker": w["pid"] if w else None,
                     "elapsed s": None if (t := elapsed(v.started, v.ended, now)) is None else round(t),
                     "memory MB": memory_of(w) if w else None,
                     "queue position": v.position})
    return rows


def worker_rows(workers: list[dict]) -> list[dict]:
    return [{"worker": w["index"], "pid": w["pid"], "alive": w["alive"], "ready": w.get("ready", True),
             "job": (w.get("job") or "idle")[:8], "GPU": w.get("gpu") or "—", "memory MB": memory_of(w)}
            for w in workers]


def counts(rows: list[dict], workers: list[dict], in_process: bool) -> dict[str, int | str]:
    """The view's headline numbers: running and queued jobs, and the live workers ('2 of 3'), or
    'in-process' without a pool, 'starting' while the pool has none yet."""
    alive = (f"{sum(bool(w['alive']) for w in workers)} of {len(workers)}" if workers
             else "in-process" if in_process else "starting")
    return {"Running": sum(r["status"] == Status.RUNNING for r in rows),
            "Queued": sum(r["status"] == Status.QUEUED for r in rows), "Workers alive": alive}
