"""The order queued jobs start in: round-robin across owners. The owner whose turn it is has the
fewest jobs running, then started one least recently (never first); an owner's own jobs go in the
order they were submitted. Queue positions are read from the same order, so what a student is
told is what happens."""
from __future__ import annotations


def start_order(queued: list, running: dict[str, int], last_start: dict[str, int]) -> list:
    """`queued`: jobs (with `.owner`) in submission order; `running`: jobs running per owner;
    `last_start`: a counter of each owner's latest start (higher: more recent; absent: never).
    Returns the queued jobs in the order they will start, as if each started one stayed running."""
    waiting: dict[str, list] = {}
    for job in queued:
        waiting.setdefault(job.owner, []).append(job)
    counts = {owner: running.get(owner, 0) for owner in waiting}
    latest = {owner: last_start.get(owner, -1) for owner in waiting}
    first_seen = {owner: i for i, owner in enumerate(waiting)}  # ties: whoever queued first
    order, tick = [], max(last_start.values(), default=0)
    while waiting:
        owner = min(waiting, key=lambda o: (counts[o], latest[o], first_seen[o]))
        order.append(waiting[owner].pop(0))
        if not waiting[owner]:
            del waiting[owner]
        counts[owner] += 1
        tick += 1
        latest[owner] = tick
    return order
