"""Jobs that must end cleanly (issue 19, items 6, 8 and 9): Stop inside a long step or while the data
loads, a web server killed under its workers, a running run deleted by its owner, the disk budget."""
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nets.engine.config import ConfigError, TrainConfig
from nets.runs import CheckpointError, create_run, delete_run, get_run, load_model, recover
from nets.runs.access import ADMIN, Access
from nets.server.jobs import JobManager
from nets.work import JobRefused
from pagetools import until

ROOT = Path(__file__).resolve().parent.parent
TINY = TrainConfig(model="mlp", hidden=(16,), train_per_class=20, epochs=2, batch_size=32, log_every=2)
LONG = TrainConfig(model="mlp", hidden=(16,), train_per_class=20, epochs=10_000, log_every=1)
ALICE = Access(owner="name:alice", lecturer=False, single_user=False)


@pytest.mark.parametrize("slow", ["NNLAB_TEST_SLOW_LOAD_S", "NNLAB_TEST_SLOW_EPOCH_S"])
def test_stop_ends_a_job_stuck_in_a_long_step_and_the_worker_is_replaced(ckpt, monkeypatch, slow):
    monkeypatch.setenv(slow, "600")  # the worker sleeps where a Stop between batches cannot reach it
    monkeypatch.setenv("NNLAB_STOP_GRACE_S", "0.2")  # read at each Stop: the 1.5 s default is waited out in full
    jobs = JobManager(ckpt, backend="process")
    try:
        job = jobs.submit(LONG, owner="name:alice")
        if slow.endswith("LOAD_S"):
            until(lambda: (jobs.view(job.id).phase or "").startswith("Loading the data (slowly"))
        else:
            until(lambda: bool(jobs.view(job.id).epochs))  # one epoch done: its best weights are saved
        (worker,) = jobs.workers()
        assert jobs.stop(job.id, ALICE)
        view = jobs.wait(job.id, timeout=30)  # the grace, then the kill; the old code waited out the 600 s
        assert view.status == "stopped" and not view.error
        if slow.endswith("EPOCH_S"):
            run = get_run(ckpt, job.run_id)
            assert run.info["status"] == "stopped" and run.has_model
            assert view.summary["run_id"] == job.run_id
            load_model(run)  # the kept weights load
        until(lambda: [w["pid"] for w in jobs.workers() if w["alive"]] not in ([], [worker["pid"]]))
        assert jobs.pool.restarts == 0  # ended by a Stop, not a death: the Server page counts deaths only
        monkeypatch.delenv(slow)  # (the replacement started without it already or not: TINY is quick either way)
    finally:
        jobs.close()


def test_a_killed_web_server_leaves_its_run_interrupted_with_its_best_weights(ckpt):
    """The web server (here a small script holding a JobManager with worker processes) is SIGKILLed
    while its `python -m nets worker` trains; the worker notices its stdin close, stops the job and
    marks the run interrupted (not "failed: BrokenPipeError"), and start-up recovery keeps it so."""
    server = subprocess.Popen(
        [sys.executable, "-c", (
            "import json, sys, time\n"
            "from nets.engine.config import TrainConfig\n"
            "from nets.server.jobs import JobManager\n"
            f"jobs = JobManager({str(ckpt)!r}, backend='process')\n"
            "job = jobs.submit(TrainConfig(model='mlp', hidden=(16,), train_per_class=20, epochs=10_000, "
            "log_every=1), owner='name:alice')\n"
            "while not jobs.view(job.id).epochs: time.sleep(0.05)\n"
            "print(json.dumps({'run': job.run_id, 'worker': jobs.workers()[0]['pid']}), flush=True)\n"
            "time.sleep(600)\n")],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        hello = json.loads(server.stdout.readline())
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    until(lambda: not Path(f"/proc/{hello['worker']}").exists() or "Z" in Path(
        f"/proc/{hello['worker']}/stat").read_text().split()[2:3], timeout=60)  # the worker left on its own
    run = get_run(ckpt, hello["run"])
    assert run.info["status"] == "interrupted", run.info.get("error")
    assert "BrokenPipe" not in json.dumps(run.info) and run.has_model
    load_model(run)
    recover(ckpt)  # what the next start-up does
    assert get_run(ckpt, hello["run"]).info["status"] == "interrupted"


def test_deleting_a_run_that_is_still_training_is_refused(ckpt):
    run = create_run(ckpt, TINY, {"owner": "name:alice"})  # 'running', written by this live process
    for who in (ALICE, ADMIN):
        with pytest.raises(CheckpointError, match="Stop it first"):
            delete_run(ckpt, run.id, who)
    assert get_run(ckpt, run.id).info["status"] == "running"
    stale = create_run(ckpt, TINY, {"owner": "name:alice", "pid": 2**22 + 7})  # left by a dead process
    delete_run(ckpt, stale.id, ALICE)


def test_a_job_whose_run_folder_vanishes_fails_with_a_plain_message(ckpt):
    jobs = JobManager(ckpt)
    try:
        job = jobs.submit(LONG, owner="name:alice")
        until(lambda: bool(jobs.view(job.id).epochs))
        os.replace(ckpt / job.run_id, ckpt / ".gone")  # gone under it (by hand: the app refuses, see above)
        shutil.rmtree(ckpt / ".gone", ignore_errors=True)  # (it may still be writing a file in there)
        view = jobs.wait(job.id, timeout=60)
        assert view.status == "failed" and view.error.startswith("This run's folder was deleted while it trained")
        assert "FileNotFoundError" not in view.error and not view.error_details
    finally:
        jobs.close()


def test_over_the_disk_budget_submit_is_refused_as_a_config_error_not_a_traceback(ckpt):
    (ckpt / "ballast.bin").write_bytes(b"\0" * (2 * 2**20))
    jobs = JobManager(ckpt, disk_budget_mb=1)
    with pytest.raises(ConfigError, match="disk budget") as refused:
        jobs.submit(TINY, owner="name:alice")
    assert isinstance(refused.value, JobRefused) and not isinstance(refused.value, CheckpointError)
    with pytest.raises(JobRefused):
        jobs.submit_group([TINY] * 4, owner="name:alice")
    assert jobs.views() == []
