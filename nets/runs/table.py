"""The Runs page's table of runs: one row per index row, and how it reads (percent, "—" for a missing
number, a long name by both ends) without changing the values a column sort orders."""
from __future__ import annotations

import math

import pandas as pd

from nets.runs.rows import RunRow


def runs_table(rows: list[RunRow]) -> list[dict]:
    """One row per run (index rows, nets.runs.RunRow), in the order given, for a sortable table."""
    return [{"name": r.name, "id": r.id, "dataset": r.dataset, "model": r.model, "optimizer": r.optimizer,
             "loss": r.loss, "test accuracy": r.accuracy, "best epoch": r.best_epoch, "parameters": r.params,
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


def _number_text(fmt: str):
    def shown(value) -> str:
        return MISSING if value is None or (isinstance(value, float) and math.isnan(value)) else fmt.format(value)
    return shown


TABLE_FORMATS = {"test accuracy": _number_text("{:.1%}"), "best epoch": _number_text("{:.0f}"),
                 "parameters": _number_text("{:,.0f}"), "seconds": _number_text("{:.1f}")}


def table_style(frame: pd.DataFrame):
    """The runs table (runs_table's rows as a frame) as it reads: accuracies in percent, "—" for a number
    a run does not have, a long name by both ends (short_name). A pandas Styler: the values beneath, which
    a click on a column title sorts, stay the numbers and the whole names."""
    formats = {c: f for c, f in TABLE_FORMATS.items() if c in frame.columns}
    if "name" in frame.columns:
        formats["name"] = short_name
    return frame.style.format(formats, na_rep=MISSING)
