"""The CSV export: the per-epoch metrics of the selected runs as one long table, one row per run and epoch.
Every text cell goes through nets.text.csv_cell: a run named =HYPERLINK(…) is text in a spreadsheet."""
from __future__ import annotations

import csv
import io
from dataclasses import fields
from typing import Iterable

from nets.engine.events import EpochEnd
from nets.export.result import ExportError, Exported, file_stem
from nets.runs import Run
from nets.text import csv_cell

CSV_MIME = "text/csv"
RUN_COLUMNS = ("run_id", "run", "dataset", "model", "optimizer", "loss")  # which run a row belongs to
METRICS = tuple(f.name for f in fields(EpochEnd))  # epoch, train_loss, ..., lr, seconds, images_per_s


def metric_rows(runs: Iterable[Run]) -> tuple[list[str], list[dict]]:
    """(columns, rows): the runs' columns, then the metrics the engine records per epoch, then any a
    run recorded that this version does not know (kept, not dropped)."""
    columns, rows = list(RUN_COLUMNS) + list(METRICS), []
    for run in runs:
        cfg = run.info.get("config") or {}
        own = {"run_id": run.id, "run": run.name, "dataset": cfg.get("dataset", ""), "model": cfg.get("model", ""),
               "optimizer": cfg.get("optimizer", ""), "loss": cfg.get("loss", "")}
        for epoch in run.info.get("history") or []:
            if isinstance(epoch, dict):
                columns += [k for k in epoch if k not in columns]
                rows.append({**own, **epoch})
    return columns, rows


def metrics_csv(runs: Iterable[Run]) -> Exported:
    """The runs' per-epoch metrics as CSV (UTF-8, empty cells where a run has no value, e.g. val_acc
    without a validation split). ExportError when there is nothing to write."""
    runs = list(runs)
    if not runs:
        raise ExportError("Choose at least one run to export its metrics.")
    columns, rows = metric_rows(runs)
    if not rows:
        which = "This run has" if len(runs) == 1 else "These runs have"
        raise ExportError(f"{which} no finished epoch yet, so there are no metrics to export.")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([csv_cell(str(c)) for c in columns])
    writer.writerows([csv_cell("" if row.get(c) is None else row[c]) for c in columns] for row in rows)
    name = f"{file_stem(runs[0].name)}-metrics.csv" if len(runs) == 1 else f"metrics-{len(runs)}-runs.csv"
    return Exported(name, buf.getvalue().encode("utf-8"), CSV_MIME)
