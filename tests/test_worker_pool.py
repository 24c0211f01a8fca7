"""Worker processes: a job's worker killed mid-epoch fails that job alone, and is replaced."""
import os
import signal

import pytest

from nets.engine.config import TrainConfig
from nets.runs import get_run
from nets.server.jobs import JobManager
from nets.server.pool import death_reason, worker_env
from pagetools import until

LONG = TrainConfig(model="mlp", hidden=(16,), train_per_class=20, epochs=10_000, log_every=1)
TINY = TrainConfig(model="mlp", hidden=(16,), train_per_class=20, epochs=2, batch_size=32)




@pytest.fixture
def pool(ckpt):
    manager = JobManager(ckpt, max_running=2, max_per_owner=1, backend="process")
    yield manager
    manager.close()


def test_a_killed_worker_fails_its_job_and_nothing_else(pool, ckpt):
    a, b = pool.submit(LONG, owner="alice"), pool.submit(LONG, owner="bob")
    until(lambda: all((v := pool.view(j.id)).epochs and v.status == "running" for j in (a, b)))
    (victim,) = [w for w in pool.workers() if w["job"] == a.id]
    os.kill(victim["pid"], signal.SIGKILL)

    until(lambda: pool.view(a.id).status == "failed")
    error = pool.view(a.id).error
    assert "killed (SIGKILL" in error and "other jobs go on" in error
    assert get_run(ckpt, a.run_id).info["status"] == "failed"  # its run says so too
    seen = pool.view(b.id).progress["images_seen"]
    until(lambda: pool.view(b.id).progress["images_seen"] > seen)  # the other job trains on
    assert pool.view(b.id).status == "running"
    until(lambda: len([w for w in pool.workers() if w["alive"] and w["ready"]]) == 2)  # replaced
    assert victim["pid"] not in [w["pid"] for w in pool.workers()] and pool.pool.restarts == 1

    c = pool.submit(TINY, owner="alice")  # the replacement takes new work
    assert pool.wait(c.id, timeout=120).status == "completed"
    pool.stop(b.id)
    assert pool.wait(b.id).status == "stopped"


def test_workers_get_their_own_gpu_and_a_share_of_the_cores():
    assert worker_env(1, 2, gpus=4, cores=16) == {"NNLAB_WORKER_THREADS": "8", "CUDA_VISIBLE_DEVICES": "1"}
    assert worker_env(0, 2, gpus=0, cores=2) == {"NNLAB_WORKER_THREADS": "1"}
    assert death_reason(-9).startswith("its process was killed (SIGKILL") and "code 3" in death_reason(3)
