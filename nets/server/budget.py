"""What one student may cost the server: the budget of one job (parameters, memory, time, images),
queued jobs and disk per student; defaults from the machine, environment variables, and the
lecturer's settings file under the checkpoints folder, each overriding the one before."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from nets import settings
from nets.files import atomic_write_json
from nets.server.costs import Cost
from nets.work import JobRefused

SETTINGS_FILE = "budget.json"  # in the checkpoints folder: the lecturer's form writes it
HEADROOM = 0.75                # of the machine's memory for jobs; the rest for the web server and the OS


@dataclass(frozen=True)
class Limits:
    """0 means no limit."""
    params: int = 0             # parameters of one job's model
    memory_mb: int = 0          # its estimated memory (weights, gradients, optimizer state, one batch)
    minutes: int = 0            # its estimated training time
    images: int = 0             # training images per epoch
    queue_per_student: int = 0  # queued + running jobs of one student
    disk_quota_mb: int = 0      # the bytes of one student's runs

    def to_dict(self) -> dict:
        return asdict(self)


# each limit's variable (nets.settings: unset or invalid leaves the machine's default)
ENV = {"params": "NNLAB_BUDGET_PARAMS", "memory_mb": "NNLAB_BUDGET_MEMORY_MB", "minutes": "NNLAB_BUDGET_MINUTES",
       "images": "NNLAB_BUDGET_IMAGES", "queue_per_student": "NNLAB_QUEUE_PER_STUDENT",
       "disk_quota_mb": "NNLAB_DISK_QUOTA_MB"}
LABELS = {"params": "Parameters of one job", "memory_mb": "Memory of one job (MB)",
          "minutes": "Training time of one job (minutes)", "images": "Training images of one job",
          "queue_per_student": "Jobs one student may have queued or running",
          "disk_quota_mb": "Disk one student's runs may use (MB)"}


def machine_memory_mb() -> int:
    """The memory jobs run in: the first GPU's where there is one, else the machine's RAM."""
    try:
        import torch
        if torch.cuda.is_available():
            return torch.cuda.get_device_properties(0).total_memory // 2**20
    except (ImportError, RuntimeError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    except (ValueError, OSError, AttributeError):
        return 8192


def machine_defaults(max_running: int = 1, disk_budget_mb: int = 0) -> Limits:
    """Limits a machine can keep to with `max_running` jobs at once: each job a share of its memory,
    and as many parameters as fit that share with Adam (weights, gradients, two states: 16 bytes)."""
    memory = int(machine_memory_mb() * HEADROOM / max(max_running, 1))
    return Limits(params=memory * 2**20 // 16, memory_mb=memory, minutes=240, images=200_000,
                  queue_per_student=4, disk_quota_mb=max(disk_budget_mb // 10, 100) if disk_budget_mb else 500)


def read_settings(root: str | Path) -> dict:
    """The lecturer's saved limits ({} when none or unreadable)."""
    try:
        saved = json.loads((Path(root) / SETTINGS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(saved, dict):
        return {}
    return {k: int(v) for k, v in saved.items() if k in ENV and isinstance(v, (int, float)) and v >= 0}


def save_settings(root: str | Path, values: dict) -> dict:
    """Save the lecturer's limits (whole numbers, 0 for none); returns what was saved."""
    clean = {}
    for k, v in values.items():
        if k not in ENV:
            raise JobRefused(f"There is no limit called {k!r}.")
        try:
            n = int(v)
        except (TypeError, ValueError):
            raise JobRefused(f"{LABELS[k]} must be a whole number.") from None
        if n < 0:
            raise JobRefused(f"{LABELS[k]} cannot be negative (0 means no limit).")
        clean[k] = n
    Path(root).mkdir(parents=True, exist_ok=True)
    atomic_write_json(Path(root) / SETTINGS_FILE, clean)
    return clean


def current(root: str | Path, max_running: int = 1, disk_budget_mb: int = 0, overrides: dict | None = None) -> Limits:
    """The limits in force: the machine's defaults, then $NNLAB_BUDGET_*, then the lecturer's
    settings file, then `overrides` (tests, scripts)."""
    limits = machine_defaults(max_running, disk_budget_mb)
    env = {k: v for k, var in ENV.items() if (v := settings.get(var)) is not None}  # a mistyped one: the default
    known = {f.name for f in fields(Limits)}
    return replace(limits, **{**env, **read_settings(root),
                              **{k: int(v) for k, v in (overrides or {}).items() if k in known}})


# ------------------------------------------------------------------------------ the messages
def amount_mb(mb: float) -> str:
    return f"{mb / 1024:,.1f} GB" if mb >= 1024 else f"{mb:,.0f} MB"


def duration(minutes: float) -> str:
    if minutes >= 120:
        return f"{minutes / 60:,.0f} hours"
    return f"{max(minutes, 1):,.0f} minutes"


def cost_problem(cost: Cost, limits: Limits) -> str | None:
    """Why a job of this cost is over the budget of one job, or None."""
    over = []
    if limits.params and cost.params > limits.params:
        over.append(f"{cost.params:,} parameters (at most {limits.params:,})")
    if limits.memory_mb and cost.memory_mb > limits.memory_mb:
        over.append(f"about {amount_mb(cost.memory_mb)} of memory (at most {amount_mb(limits.memory_mb)})")
    if limits.minutes and cost.minutes > limits.minutes:
        over.append(f"about {duration(cost.minutes)} of training (at most {duration(limits.minutes)})")
    if limits.images and cost.images > limits.images:
        over.append(f"{cost.images:,} training images (at most {limits.images:,})")
    if not over:
        return None
    return ("Over this server's budget for one job: " + "; ".join(over) + ". Make the network smaller, train "
            "fewer epochs or on fewer images, or ask whoever runs this server to raise its budget (Server page).")


def queue_problem(active: int, adding: int, limit: int) -> str | None:
    if not limit or active + adding <= limit:
        return None
    what = "this job" if adding == 1 else f"these {adding} jobs"
    return (f"You have {active} job(s) queued or running, and {what} would make more than the {limit} one student "
            "may have at once: wait for one to finish, or stop or cancel one.")


def quota_problem(used_bytes: int, quota_mb: int) -> str | None:
    if not quota_mb or used_bytes < quota_mb * 2**20:
        return None
    return (f"Your runs use {amount_mb(used_bytes / 2**20)} of your {amount_mb(quota_mb)} disk quota: delete some "
            "of your runs on the Runs page before training again.")
