"""Playground gate: one live update (train chunk + redraw) at a time, server-wide, so many playing students share one core."""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

# Every Streamlit session is a thread of one process. Serialising the playground's updates means all
# playing students together hold at most one thread's worth of CPU (and the GIL half the time against any
# other page's run): with 30 players each update waits its turn and their rates fall, other pages do not.
_GATE = threading.Lock()
_STATS = {"updates": 0, "busy_s": 0.0, "waited_s": 0.0}
_STATS_LOCK = threading.Lock()


@contextmanager
def turn():
    """Hold the playground's one slot for one update; the time spent is counted for the server view."""
    asked = time.perf_counter()
    with _GATE:
        start = time.perf_counter()
        try:
            yield
        finally:
            end = time.perf_counter()
            with _STATS_LOCK:
                _STATS["updates"] += 1
                _STATS["busy_s"] += end - start
                _STATS["waited_s"] += start - asked


def stats() -> dict:
    """Updates served, seconds spent in them and seconds waited for a turn since the server started."""
    with _STATS_LOCK:
        return dict(_STATS)
