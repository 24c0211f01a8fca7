"""The Runs page's table of runs: one row per index row, what a missing number reads as ("—", never
"None"), and a long name shown by both ends."""
from __future__ import annotations

from nets.runs.rows import RunRow


def runs_table(rows: list[RunRow], short: bool = False) -> list[dict]:
    """One row per run (index rows, nets.runs.RunRow), in the order given, for a sortable table;
    `short`: long names by both ends (short_name), as the Runs table's name column shows them."""
    return [{"name": short_name(r.name) if short else r.name, "id": r.id, "dataset": r.dataset, "model": r.model,
             "optimizer": r.optimizer, "loss": r.loss, "test accuracy": r.accuracy, "best epoch": r.best_epoch, "parameters": r.params,
             "seconds": r.seconds, "status": r.status, "created": r.created, "starred": r.starred}
            for r in rows]


NAME_CHARS = 52   # what the Runs table's name column shows of a name whole (nets.runs' names reach 100)
MISSING = "—"    # a number a run does not have (yet): never "None" or "nan"


def short_name(name: str, limit: int = NAME_CHARS) -> str:
    """A long name by both ends, "lenet · mnist-mini · sg…dam lr 0.01 · squared error #6": runs made
    from one preset differ at the end (optimizer, loss, number), so the end is never cut off."""
    if len(name) <= limit:
        return name
    head = (limit - 1) * 2 // 5
    return name[:head].rstrip() + "…" + name[-(limit - 1 - head):].lstrip()
