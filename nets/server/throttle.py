"""Wrong guesses slowed down: a server-wide count of failures per target, with a growing wait.

A target is what a guess is aimed at: "lecturer" (the lecturer's password) or a student's identity
("name:alice": her class code and passphrase tries). The first FREE failures in a row cost nothing
(typos happen); each further one closes the target for twice as long as the last (1 s, 2 s, 4 s, …,
at most LONGEST): while it is closed every try is refused without being checked, the right one
included. A success opens the target again; a target left alone for FORGET seconds starts afresh.
Thirty wrong tries in a row so cost about 1 + 2 + 4 + … ≈ 1.5 hours of waiting instead of 3 s.

The count lives in the server process (Streamlit serves every session from one), so the waits hold
across sessions and tabs; a restart clears them. The clock is injected, so tests need no waiting.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from threading import Lock

FREE = 5            # failures in a row that cost nothing
FIRST_WAIT = 1.0    # seconds after the first failure past FREE; doubles with each further one
LONGEST = 300.0     # the longest wait: a student cannot lock the lecturer out for long
FORGET = 3600.0     # a target untried for this long starts afresh
MAX_TARGETS = 10_000  # the oldest are forgotten first: many made-up names cannot fill the memory


class Throttle:
    """Failures per target and when each may next be tried; safe to share between threads."""

    def __init__(self, free: int = FREE, first_wait: float = FIRST_WAIT, longest: float = LONGEST,
                 forget: float = FORGET, clock=time.monotonic):
        self.free, self.first_wait, self.longest, self.forget, self.clock = free, first_wait, longest, forget, clock
        self._state: OrderedDict[str, tuple[int, float, float]] = OrderedDict()  # target → (failures, last, open at)
        self._lock = Lock()

    def delay(self, failures: int) -> float:
        """How long a target stays closed after its `failures`-th failure in a row."""
        if failures <= self.free:
            return 0.0
        return min(self.first_wait * 2.0 ** min(failures - self.free - 1, 60), self.longest)

    def wait(self, target: str) -> float:
        """Seconds before `target` may be tried again; 0 when it may be tried now."""
        with self._lock:
            failures, last, open_at = self._current(target)
            return max(0.0, open_at - self.clock())

    def failed(self, target: str) -> tuple[int, float]:
        """Count a failure; returns the failures in a row and the wait it now costs."""
        with self._lock:
            failures, _, _ = self._current(target)
            now, failures = self.clock(), failures + 1
            wait = self.delay(failures)
            self._state[target] = (failures, now, now + wait)
            self._state.move_to_end(target)
            while len(self._state) > MAX_TARGETS:
                self._state.popitem(last=False)
            return failures, wait

    def succeeded(self, target: str) -> None:
        with self._lock:
            self._state.pop(target, None)

    def failures(self, target: str) -> int:
        with self._lock:
            return self._current(target)[0]

    def _current(self, target: str) -> tuple[int, float, float]:
        failures, last, open_at = self._state.get(target, (0, 0.0, 0.0))
        if failures and self.clock() - max(last, open_at) > self.forget:
            self._state.pop(target, None)
            return 0, 0.0, 0.0
        return failures, last, open_at
