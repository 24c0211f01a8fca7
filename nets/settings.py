"""Every NNLAB_* environment variable in one table: its name, default, check and meaning, read when asked."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("nnlab.settings")
ROOT = Path(__file__).resolve().parent.parent  # the app's folder: default homes of runs and data


@dataclass(frozen=True)
class Setting:
    """One variable. `kind` parses its text (int, float, str, Path or bool); a value that does not
    parse, or falls outside [minimum, maximum] or `choices`, is logged and the default used."""
    name: str
    kind: type
    default: object
    meaning: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def parse(self, text: str):
        text = text.strip()
        if self.kind is bool:
            if text.lower() not in ("0", "1", "true", "false", "yes", "no"):
                raise ValueError(f"{text!r} is not 0 or 1")
            return text.lower() in ("1", "true", "yes")
        value = int(float(text)) if self.kind is int else self.kind(text)
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{value} is below {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{value} is above {self.maximum}")
        if self.choices and value not in self.choices:
            raise ValueError(f"{value!r} is not one of {', '.join(self.choices)}")
        return value


S = Setting
TABLE = (
    # where things live
    S("NNLAB_CHECKPOINTS", Path, ROOT / "checkpoints", "the folder of saved runs, accounts and uploads"),
    S("NNLAB_DATA_DIR", Path, ROOT / "data", "the folder of datasets (downloads go there too)"),
    # the job service
    S("NNLAB_JOB_BACKEND", str, "process", "process: jobs train in worker processes; thread: in the app's own",
      choices=("process", "thread")),
    S("NNLAB_MAX_JOBS", int, None, "training jobs running at once (none: 2 with a GPU, else 1; on Ray: what the "
      "cluster holds)", minimum=1),
    S("NNLAB_JOBS_PER_SESSION", int, 1, "jobs one student may have running at once", minimum=1),
    S("NNLAB_DISK_BUDGET_MB", int, 5000, "the space all saved runs may take (0: no limit)", minimum=0),
    S("NNLAB_WORKER_THREADS", int, None, "torch threads per worker process (none: the cores shared between "
      "workers)", minimum=1),
    S("NNLAB_WORKER_NICE", int, 5, "how far below the web server workers sit in the CPU's queue", minimum=0,
      maximum=19),
    S("NNLAB_STOP_GRACE_S", float, 1.5, "seconds a Stop waits before it ends the worker", minimum=0),
    S("NNLAB_TORCH_THREADS", int, None, "torch threads in the app's own process (none: torch's default)", minimum=1),
    S("NNLAB_INDEX_WRITES", bool, True, "0 on a machine that must not write the runs' index (a Ray node "
      "without it)"),
    # several web processes on one machine (python -m nets serve sets both)
    S("NNLAB_JOBS_SOCKET", str, "", "the shared job queue's Unix socket: set, the app's pages use that queue "
      "(nets.server.shared_jobs) instead of their own"),
    S("NNLAB_JOBS_KEY", str, "", "the shared queue's random key, a secret of the launch"),
    # a Ray cluster
    S("NNLAB_RAY_ADDRESS", str, "", "the Ray cluster to train on (auto, host:6379, ray://host:10001)"),
    S("NNLAB_RAY_CPUS_PER_JOB", float, 1.0, "CPUs each job's Ray task asks for", minimum=0.01),
    # what one student may cost (none: the machine's defaults, nets.server.budget)
    S("NNLAB_BUDGET_PARAMS", int, None, "parameters of one job (0: no limit)", minimum=0),
    S("NNLAB_BUDGET_MEMORY_MB", int, None, "memory of one job in MB (0: no limit)", minimum=0),
    S("NNLAB_BUDGET_MINUTES", int, None, "estimated training minutes of one job (0: no limit)", minimum=0),
    S("NNLAB_BUDGET_IMAGES", int, None, "training images of one job (0: no limit)", minimum=0),
    S("NNLAB_QUEUE_PER_STUDENT", int, None, "jobs one student may have queued or running (0: no limit)", minimum=0),
    S("NNLAB_DISK_QUOTA_MB", int, None, "disk one student's runs may use in MB (0: no limit)", minimum=0),
    S("NNLAB_UPLOADS_PER_STUDENT", int, 5, "image uploads one student may keep", minimum=0),
    S("NNLAB_UPLOAD_QUOTA_MB", int, 200, "megabytes of uploads one student may keep", minimum=0),
    S("NNLAB_UPLOAD_FILES_PER_STUDENT", int, 4000, "uploaded images one student may keep", minimum=0),
    S("NNLAB_MAX_IMAGE_PIXELS", int, 40_000_000, "pixels of one image, checked in its header before decoding",
      minimum=1),
    # measuring and testing
    S("NNLAB_PAGE_TIMES", str, "", "a file to which each page view's script time is appended"),
    S("NNLAB_TEST_SLOW_LOAD_S", float, 0.0, "tests: seconds a job's data load takes, uninterruptibly", minimum=0),
    S("NNLAB_TEST_SLOW_EPOCH_S", float, 0.0, "tests: seconds a job sleeps after each new best model", minimum=0),
)
SETTINGS = {s.name: s for s in TABLE}


def get(name: str, environ=None):
    """The variable's value now (the environment is read at every call, so tests can set it), or its
    default when unset, empty or invalid (an invalid one is logged)."""
    setting = SETTINGS[name]
    text = (os.environ if environ is None else environ).get(name, "")
    if not text.strip():
        return setting.default
    try:
        return setting.parse(text)
    except ValueError as e:
        log.warning("%s=%r ignored (%s); using %r", name, text, e, setting.default)
        return setting.default


def is_set(name: str, environ=None) -> bool:
    """Whether the variable holds a valid value (not the default's absence)."""
    setting = SETTINGS[name]
    text = (os.environ if environ is None else environ).get(name, "")
    try:
        setting.parse(text)
    except ValueError:
        return False
    return bool(text.strip())
