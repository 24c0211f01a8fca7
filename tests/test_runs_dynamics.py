"""A run's layer statistics on disk: a chunk per epoch written with its history, a part chunk when cut short, recovery and damage."""
from __future__ import annotations

from dataclasses import fields

import numpy as np
from dynamicstools import synthetic

from nets.engine.config import TrainConfig
from nets.engine.events import EpochEnd, Finished, LayerStats, Started, StatsPlan, Stopped
from nets.runs import create_run, get_run
from nets.runs.dynamics import read_dynamics, write_chunk
from nets.runs.recorder import RunRecorder
from nets.runs.recovery import tidy
from nets.status import Status


def events_of(d, rows):
    part = d.take(rows)
    return LayerStats(**{f.name: getattr(part, f.name).tolist() for f in fields(LayerStats)})


def epoch_end(epoch):
    return EpochEnd(epoch, 1.0, 0.5, 1.0, 0.5, None, None, 0.01, 1.0, 100.0)


def test_each_epoch_is_a_chunk_and_a_stop_keeps_the_rest(tmp_path):
    d = synthetic(records=9, layers=("fc1", "fc2"))
    run = create_run(tmp_path, TrainConfig(model="mlp"), {})
    rec = RunRecorder(run)
    rec(Started("cpu", 10, 100, 3, 5, "test", 10))
    rec(StatsPlan(**d.plan()))
    rec(events_of(d, [0, 1]))
    rec(events_of(d, [2]))
    rec(epoch_end(1))
    assert run.info["dynamics"]["chunks"] == ["dynamics-e0001.npz"] and len(run.info["history"]) == 1
    rec(events_of(d, [3, 4, 5]))
    rec(epoch_end(2))
    rec(events_of(d, [6, 7, 8]))
    rec(Stopped(3, 2))
    rec(Finished(Status.STOPPED, 0.5, 1, 2, 1.0, 1.0))
    saved = read_dynamics(get_run(tmp_path, run.id))
    assert run.info["dynamics"]["chunks"] == ["dynamics-e0001.npz", "dynamics-e0002.npz", "dynamics-e0003-part.npz"]
    assert list(saved.step) == list(d.step) and saved.sites == d.sites
    for k, v in d.arrays().items():
        assert np.array_equal(getattr(saved, k), v, equal_nan=True), k


def test_recovery_removes_a_chunk_the_record_never_named_and_damage_skips_one_chunk(tmp_path):
    d = synthetic(records=4)
    run = create_run(tmp_path, TrainConfig(model="mlp"), {})
    write_chunk(run, d.take([0, 1]), 1)
    write_chunk(run, d.take([2, 3]), 2)
    (run.path / "dynamics-e0003.npz").write_bytes(b"killed between the two writes")
    assert tidy(get_run(tmp_path, run.id)) == [f"{run.id}/dynamics-e0003.npz"]
    (run.path / "dynamics-e0001.npz").write_bytes(b"\x00damaged")
    assert list(read_dynamics(get_run(tmp_path, run.id)).step) == list(d.step[2:])


def test_a_run_without_statistics_or_with_a_forged_chunk_name_reads_none(tmp_path):
    run = create_run(tmp_path, TrainConfig(model="mlp"), {})
    assert read_dynamics(run) is None
    d = synthetic(records=2)
    write_chunk(run, d, 1)
    info = dict(run.info["dynamics"], chunks=["../../etc/passwd", "run.json"])
    run.info["dynamics"] = info
    assert read_dynamics(run) is None  # only chunk names are ever opened
