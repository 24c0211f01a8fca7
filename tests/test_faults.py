"""A classroom server's faults: killed processes, out-of-memory jobs, a full disk, a fair queue."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from nets import experiment
import nets.engine.start as start
from nets.engine.config import ConfigError, TrainConfig
from nets.engine.data import load_dataset
from nets.engine.evaluate import evaluate
from nets.runs import clean_up, disk_usage, get_run, list_runs, load_model, recover_interrupted
from nets.runs.access import ADMIN
from nets.server.jobs import JobManager
from nets.work import JobRefused

ROOT = Path(__file__).resolve().parent.parent
TINY = TrainConfig(model="mlp", hidden=(16,), train_per_class=20, epochs=2, batch_size=32, log_every=2)
LONG = TrainConfig(model="mlp", hidden=(16,), train_per_class=20, epochs=10_000, log_every=1)


@pytest.mark.slow
def test_a_killed_training_process_leaves_an_interrupted_run_with_its_best_model(ckpt):
    proc = subprocess.Popen([sys.executable, "-m", "nets", "train", "--model", "mlp", "--hidden", "32",
                             "--train-per-class", "50", "--epochs", "10000", "--threads", "1",
                             "--checkpoints", str(ckpt), "--quiet"],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.time() + 60
        while not list(ckpt.glob("*/model-*.pt")) and time.time() < deadline:
            assert proc.poll() is None, "the training process ended on its own"
            time.sleep(0.1)
        time.sleep(0.3)  # a few more epochs, so the kill can land in the middle of a write
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    (run,) = list_runs(ckpt)[0]
    assert run.info["status"] == "running"  # what the killed process left behind
    assert recover_interrupted(ckpt) == [run.id]
    run = get_run(ckpt, run.id)
    assert run.info["status"] == "interrupted" and run.info["history"]
    mini = load_dataset("mnist-mini")
    ev = evaluate(load_model(run), mini.x_test, mini.y_test, run.info["mean"], run.info["std"], run.info["classes"])
    assert ev.accuracy == pytest.approx(run.info["best"]["accuracy"])
    assert list(ckpt.glob("*/.*.tmp")) == []  # atomic writes: no half-written file remains
    JobManager(ckpt)  # a restarted server does the same on start-up, idempotently
    assert get_run(ckpt, run.id).info["status"] == "interrupted"


def test_a_live_process_is_not_marked_interrupted(ckpt):
    experiment.run_training(TINY, checkpoints=ckpt)
    (run,) = list_runs(ckpt)[0]
    from nets.runs import update_run
    update_run(run, status="running")  # as if this very process were still training it
    assert recover_interrupted(ckpt) == []


class OutOfMemoryAt(nn.Module):
    def __init__(self, inner, calls):
        super().__init__()
        self.inner, self.left = inner, calls

    def forward(self, x):
        self.left -= 1
        if self.left <= 0:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return self.inner(x)


def test_out_of_memory_fails_that_job_only(ckpt, monkeypatch):
    real_build = start.build_model
    monkeypatch.setattr(start, "build_model", lambda *a, **k: OutOfMemoryAt(real_build(*a, **k), 3))
    jobs = JobManager(ckpt, max_running=1)
    doomed = jobs.submit(TINY, owner="a")
    view = jobs.wait(doomed.id)
    assert view.status == "failed" and view.error.startswith("Out of GPU memory")
    assert "smaller batch size" in view.error
    assert get_run(ckpt, list_runs(ckpt)[0][0].id).info["status"] == "failed"
    monkeypatch.setattr(start, "build_model", real_build)
    assert jobs.wait(jobs.submit(TINY, owner="a").id).status == "completed"


def test_a_full_disk_budget_refuses_new_jobs_clearly(ckpt):
    (ckpt / "ballast.bin").write_bytes(b"\0" * (2 * 2**20))
    jobs = JobManager(ckpt, disk_budget_mb=1)
    with pytest.raises(ConfigError, match="use 2 MB of their 1 MB disk budget") as refused:
        jobs.submit(TINY)  # the Train page shows a ConfigError's message (no traceback), and no path
    assert isinstance(refused.value, JobRefused) and str(ckpt) not in str(refused.value)
    assert disk_usage(ckpt) >= 2 * 2**20


def test_clean_up_removes_failed_and_interrupted_runs(ckpt):
    kept = experiment.run_training(TINY, checkpoints=ckpt).run_id
    gone = experiment.run_training(TrainConfig(**{**TINY.to_dict(), "name": "x"}), checkpoints=ckpt).run_id
    from nets.runs import update_run
    update_run(get_run(ckpt, gone), status="interrupted")
    report = clean_up(ckpt, ADMIN)
    assert report.removed == [gone] and report.bytes_freed > 10_000  # its weights, record and evaluation
    assert [r.id for r in list_runs(ckpt)[0]] == [kept]


def test_one_running_job_per_session_and_others_go_first(ckpt):
    jobs = JobManager(ckpt, max_running=2, max_per_owner=1)
    a1, a2 = jobs.submit(LONG, owner="alice"), jobs.submit(TINY, owner="alice")
    b1 = jobs.submit(TINY, owner="bob")
    assert [jobs.view(j.id).status for j in (a1, a2, b1)] == ["running", "queued", "running"]
    assert jobs.wait(b1.id).status == "completed"
    assert jobs.view(a2.id).status == "queued"  # alice's second job waits for her first
    jobs.stop(a1.id)
    assert jobs.wait(a2.id, timeout=60).status == "completed"
