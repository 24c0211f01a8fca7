"""The CSV export: every epoch of every selected run in one long table."""
import csv
import io

import pytest

from exporttools import fake_run, shipped_run
from nets.engine.config import TrainConfig
from nets.export import ExportError
from nets.export.table import METRICS, RUN_COLUMNS, metrics_csv


def epoch(i, **extra):
    return {"epoch": i, "train_loss": 1.0 / i, "train_acc": 0.5 + i / 10, "test_loss": 0.9 / i, "test_acc": 0.6,
            "val_loss": 0.8 / i, "val_acc": 0.55 + i / 100, "lr": 0.1 / 3, "seconds": 1.5, "images_per_s": 900.0,
            **extra}


def read(exported) -> tuple[list[str], list[dict]]:
    reader = csv.DictReader(io.StringIO(exported.data.decode("utf-8")))
    return reader.fieldnames, list(reader)


def test_several_runs_become_one_long_table(tmp_path):
    shipped = shipped_run(tmp_path)
    cfg = TrainConfig(model="mlp", optimizer="adam", loss="mse", name="Ünïcode, \"quoted\"")
    other = fake_run(tmp_path / "ckpt", cfg, (1, 28, 28), history=[epoch(1), epoch(2, grad_norm=3.5)])
    exported = metrics_csv([shipped, other])
    assert exported.file_name == "metrics-2-runs.csv" and exported.mime == "text/csv"
    columns, rows = read(exported)
    assert columns == [*RUN_COLUMNS, *METRICS, "grad_norm"]  # a metric this version does not know is kept
    assert columns[:7] == ["run_id", "run", "dataset", "model", "optimizer", "loss", "epoch"]
    assert len(rows) == len(shipped.info["history"]) + 2
    first = rows[0]
    assert first["run_id"] == "lenet-mnist-mini" and first["model"] == "lenet" and first["epoch"] == "1"
    assert float(first["test_acc"]) == shipped.info["history"][0]["test_acc"]  # full precision
    assert first["val_acc"] == "" and first["grad_norm"] == ""  # no validation split: empty, not "None"
    last = rows[-1]
    assert (last["run"], last["optimizer"], last["loss"], last["epoch"]) == (cfg.name, "adam", "mse", "2")
    assert float(last["lr"]) == 0.1 / 3 and last["grad_norm"] == "3.5"


def test_one_run_is_named_after_it(tmp_path):
    exported = metrics_csv([shipped_run(tmp_path)])
    assert exported.file_name == "lenet-mnist-mini-metrics.csv"
    assert len(read(exported)[1]) == 5


def test_nothing_to_export_says_why(tmp_path):
    with pytest.raises(ExportError, match="at least one run"):
        metrics_csv([])
    empty = fake_run(tmp_path / "ckpt", TrainConfig(model="mlp"), (1, 28, 28))
    with pytest.raises(ExportError, match="no finished epoch"):
        metrics_csv([empty])
