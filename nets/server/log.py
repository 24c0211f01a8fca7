"""The server's log: job failures (with tracebacks), lost workers and page errors go to the
server's standard error, and the latest of them are kept for the lecturer's server view."""
from __future__ import annotations

import logging
import sys
import time
from collections import deque
from threading import Lock

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
WATCHED = ("nnlab", "streamlit.error_util")  # ours, and Streamlit's "Uncaught app execution"


class RecentProblems(logging.Handler):
    """The last `keep` warnings and errors, newest first, as plain dicts for a table."""

    def __init__(self, keep: int = 100):
        super().__init__(logging.WARNING)
        self._records: deque[dict] = deque(maxlen=keep)
        self._guard = Lock()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        detail = ""
        if record.exc_info and record.exc_info[1] is not None:
            detail = logging.Formatter().formatException(record.exc_info)
            message = f"{message}: {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        first, _, rest = message.partition("\n")  # a job's traceback rides in the message
        with self._guard:
            self._records.appendleft({"time": time.strftime("%H:%M:%S", time.localtime(record.created)),
                                      "level": record.levelname.lower(), "where": record.name,
                                      "message": first, "details": (rest + "\n" + detail).strip()})

    def snapshot(self) -> list[dict]:
        with self._guard:
            return [dict(r) for r in self._records]


def setup(level: int = logging.INFO, stream=None) -> RecentProblems:
    """Send the app's log to standard error and keep its problems; once per process (idempotent)."""
    for name in WATCHED:
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, RecentProblems):
                return handler
    recent = RecentProblems()
    ours = logging.getLogger("nnlab")
    ours.setLevel(level)
    console = logging.StreamHandler(stream or sys.stderr)
    console.setFormatter(logging.Formatter(FORMAT))
    ours.addHandler(console)
    for name in WATCHED:
        logging.getLogger(name).addHandler(recent)
    return recent


def record_page_time(page: str, seconds: float, path: str | None) -> None:
    """Append one page run's script time to `path` (set $NNLAB_PAGE_TIMES to measure a load test);
    nothing when no path is set. One short line per write: concurrent sessions do not interleave."""
    if not path:
        return
    with open(path, "a") as f:
        f.write(f"{page}\t{seconds:.6f}\n")


def read_page_times(path: str) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {}
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return times
    for line in lines:
        page, _, seconds = line.partition("\t")
        try:
            times.setdefault(page, []).append(float(seconds))
        except ValueError:
            continue
    return times
