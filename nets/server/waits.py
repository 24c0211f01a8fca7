"""How long a queued job will wait: what each job is expected to take on this server, and the queue played forward.

A student who pressed Train with sixty others wants a number, and a number that turns out right. The
cost estimate (nets.server.costs) knows a model's arithmetic but not a process's start, the data's
loading or the evaluations, which dominate a small job: it said 1.1 s for "MNIST in a minute", which
took about 3 s a job here, sixty in a row. So a job is expected to take what the same configuration took on this server
lately; a configuration never run here takes its estimate times how far estimates fell short on this
server's latest jobs (until one has finished: the estimate plus START_S). Then the queue is played
forward: every slot frees when its running job is expected to end, and each queued job, in start
order, takes the first free slot.
"""
from __future__ import annotations

import heapq
import json
import statistics
from collections import deque

START_S = 2.0        # a job's start, data loading and evaluation, until finished jobs show more: "MNIST in a
                     # minute" was estimated 1.1 s and took 3.1 s a job, 60 in a row (tests/load_class.py)
UNKNOWN_S = 60.0     # a work with no estimate at all
RECENT = 5           # finished jobs a configuration's expectation follows: a class's load changes within minutes
SHORTFALL = 20       # finished jobs the estimates' shortfall is read from


def key_of(work) -> str:
    """What jobs that should take as long share: a training work's settings but its name; else its kind."""
    cfg = getattr(work, "cfg", None)
    if cfg is None or not hasattr(cfg, "to_dict"):
        return str(work.kind)
    return json.dumps({k: v for k, v in cfg.to_dict().items() if k != "name"}, sort_keys=True, default=str)


def estimate_s(work, jobs: int) -> float | None:
    """The cost estimate of a training work's run in seconds (nets.server.costs), None for other works."""
    cfg = getattr(work, "cfg", None)
    if cfg is None:
        return None
    from nets.server.costs import estimate
    try:
        return estimate(cfg, jobs=jobs).seconds
    except Exception:  # a folder dataset or a model the estimate cannot build: the worker will say why  # noqa: BLE001
        return None


class Durations:
    """Run times of finished jobs on this server, by configuration; the expected time of the next one."""

    def __init__(self):
        self._by_key: dict[str, deque] = {}
        self._shortfall: deque = deque(maxlen=SHORTFALL)  # actual / estimated, over every configuration

    def finished(self, key: str, seconds: float, estimated: float | None) -> None:
        self._by_key.setdefault(key, deque(maxlen=RECENT)).append(seconds)
        if estimated:
            self._shortfall.append(seconds / estimated)

    def expected(self, key: str, estimated: float | None) -> float:
        if key in self._by_key:
            return statistics.median(self._by_key[key])
        if estimated is None:
            return UNKNOWN_S
        if self._shortfall:
            return estimated * statistics.median(self._shortfall)
        return estimated + START_S


def start_waits(slots: int, running_left: list[float], queued: list[float]) -> list[float]:
    """Seconds until each queued job starts, in start order: `slots` jobs run at once; `running_left`: the
    running jobs' expected seconds left; `queued`: each queued job's expected run time."""
    free = sorted(max(left, 0.0) for left in running_left)[:slots]
    free += [0.0] * (slots - len(free))
    heapq.heapify(free)
    waits = []
    for length in queued:
        start = heapq.heappop(free)
        waits.append(start)
        heapq.heappush(free, start + length)
    return waits


def queue_places(order: list, running: list, slots: int, durations: Durations, now: float) -> dict:
    """{job id: (its place, 1 = next; the seconds until it is expected to start)} for the queued jobs in
    start `order`, behind the `running` jobs on `slots` slots (jobs as nets.server.job.Job holds them)."""
    def expected(job) -> float:
        return durations.expected(job.key, job.estimated)
    left = [left_s(expected(j), now - j.started) for j in running if j.started]
    waits = start_waits(slots, left, [expected(j) for j in order])
    return {j.id: (i + 1, wait) for i, (j, wait) in enumerate(zip(order, waits))}


def left_s(expected: float, elapsed: float) -> float:
    """A running job's expected seconds left; one past its expectation is expected to end soon, not now."""
    return max(expected - elapsed, 0.1 * expected)


def about(seconds: float) -> str:
    """A wait in words a student reads at a glance: "a few seconds", "40 s", "3 min", "1 h 10 min"."""
    if seconds < 10:
        return "a few seconds"
    if seconds < 90:
        return f"{5 * round(seconds / 5):.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def queued_text(position: int | None, wait_s: float | None) -> str:
    """What a queued job's owner reads: their place and when it should start."""
    when = f"; it should start in about {about(wait_s)}" if wait_s is not None else ""
    return (f"Queued: position {position} in the queue{when}. This page follows it: nothing to press, "
            "and other pages can be used meanwhile.")
