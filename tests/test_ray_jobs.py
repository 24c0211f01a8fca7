"""Jobs on Ray (nets.server.ray_jobs, nets.server.ray_tasks): one queue for several web servers, a dead Ray worker
fails one job.

The service tests every backend passes are in tests/test_jobs.py (its "ray" parameter); these are
the Ray-only ones. One local Ray for the module, never a cluster already running on the machine.
"""
import os
import signal
import socket
import sys
import uuid
from dataclasses import replace

import pytest

ray = pytest.importorskip("ray", reason="ray is not installed (pip install -r requirements-ray.txt)")

from nets.engine.config import TrainConfig  # noqa: E402
from nets.runs import get_run  # noqa: E402
from nets.runs.dynamics import read_dynamics  # noqa: E402
from nets.runs.access import Access  # noqa: E402
from nets.server.service import JobService  # noqa: E402
from nets.server.ray_jobs import ClusterError, RayJobs, check_writable, connect, unreachable  # noqa: E402
from nets.server.ray_tasks import default_max_running, job_resources, loss_reason  # noqa: E402
from nets.scratch.lab import LabSettings, LabWork  # noqa: E402
from nets.training_work import TrainWork  # noqa: E402
from pagetools import until  # noqa: E402

LONG = TrainConfig(model="mlp", hidden=(16,), train_per_class=20, epochs=10_000, log_every=1)
TINY = TrainConfig(model="mlp", hidden=(16,), train_per_class=20, epochs=2, batch_size=32)


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def service_name():
    """A job service of this test's own; shut down (its jobs stopped) afterwards."""
    name = f"nnlab-jobs-test-{uuid.uuid4().hex[:8]}"
    yield name
    try:
        ray.kill(ray.get_actor(name, namespace="nnlab"))
    except ValueError:
        pass  # the test shut it down itself




def test_two_web_servers_share_one_queue(ckpt, service_name):
    a = RayJobs(ckpt, max_running=1, max_per_owner=1, name=service_name)
    b = RayJobs(ckpt, name=service_name)  # a second Streamlit process finds the same service
    assert a.settings == b.settings and b.settings["max_running"] == 1
    assert isinstance(a, JobService) and "__getattr__" not in vars(RayJobs)  # the interface, forwarded method by method
    assert a.view("no-such-job") is None and a.running_count() == 0 and not a.in_process()
    first, second = a.submit(LONG, owner="alice"), b.submit(replace(TINY, stats_every=3), owner="bob")
    assert [v.id for v in b.views()] == [first.id, second.id] == [v.id for v in a.views()]
    until(lambda: b.view(first.id).epochs)
    assert a.view(second.id).status == "queued" and a.view(second.id).position == 1
    alice = Access("alice", False, False)
    assert b.stop(first.id, alice) and a.wait(first.id).status == "stopped"  # stopped through the other
    assert b.wait(second.id).status == "completed"
    assert a.workers() == [] and get_run(ckpt, b.view(second.id).run_id).info["status"] == "completed"
    saved = read_dynamics(get_run(ckpt, b.view(second.id).run_id))  # layer statistics streamed from the task
    assert len(saved) > 2 and list(a.view(second.id).dynamics.step) == list(saved.step)
    a.shutdown()


def test_a_killed_ray_worker_fails_its_job_and_nothing_else(ckpt, service_name):
    jobs = RayJobs(ckpt, max_running=2, max_per_owner=1, name=service_name)
    a, b = jobs.submit(LONG, owner="alice"), jobs.submit(LONG, owner="bob")
    until(lambda: all((v := jobs.view(j.id)).epochs and v.status == "running" for j in (a, b)))
    (victim,) = [w for w in jobs.workers() if w["job"] == a.id]
    assert victim["ready"] and victim["resources"] == {"num_cpus": 1.0, "num_gpus": 0.0}
    until(lambda: [w for w in jobs.workers() if w["job"] == a.id][0]["memory_mb"])  # reported by the task
    os.kill(victim["pid"], signal.SIGKILL)

    until(lambda: jobs.view(a.id).status == "failed")
    error = jobs.view(a.id).error
    assert "Ray worker process died" in error and "other jobs go on" in error
    assert get_run(ckpt, a.run_id).info["status"] == "failed"
    seen = jobs.view(b.id).progress["images_seen"]
    until(lambda: jobs.view(b.id).progress["images_seen"] > seen)  # the other job trains on
    c = jobs.submit(TINY, owner="alice")  # and the freed room takes new work
    assert jobs.wait(c.id, timeout=120).status == "completed"
    assert jobs.view(b.id).status == "running"
    jobs.shutdown()


def test_a_full_cluster_keeps_jobs_in_the_queue_where_they_can_be_cancelled(ckpt, service_name):
    # Two jobs may run but each asks for both CPUs: the second waits in our queue, not in Ray's.
    jobs = RayJobs(ckpt, max_running=2, max_per_owner=2, cpus_per_job=2, name=service_name)
    first, second = jobs.submit(LONG, owner="alice"), jobs.submit(TINY, owner="alice")
    until(lambda: jobs.view(first.id).epochs)
    assert jobs.view(second.id).status == "queued" and jobs.view(second.id).position == 1
    assert jobs.stop(second.id) and jobs.view(second.id).status == "cancelled"
    third = jobs.submit(TINY, owner="alice")
    jobs.stop(first.id)
    assert jobs.wait(first.id).status == "stopped"
    assert jobs.wait(third.id, timeout=120).status == "completed"  # started once room came back
    jobs.shutdown()


def test_owner_rules_hold_through_the_ray_client(ckpt, service_name):
    jobs = RayJobs(ckpt, max_running=1, name=service_name)
    alice, bob = Access("alice", False, False), Access("bob", False, False)
    lecturer = Access("lecturer", True, False)
    mine, theirs = jobs.submit(LONG, owner="alice"), jobs.submit(TINY, owner="bob")
    assert [v.id for v in jobs.views(alice)] == [mine.id] and jobs.view(theirs.id, alice) is None
    assert not jobs.stop(theirs.id, alice) and jobs.view(theirs.id).status == "queued"
    assert [v.id for v in jobs.views(lecturer)] == [mine.id, theirs.id]
    assert jobs.stop(theirs.id, bob) and jobs.stop(mine.id, lecturer)
    assert jobs.wait(mine.id).status == "stopped" and jobs.view(theirs.id).status == "cancelled"
    jobs.shutdown()


def test_the_numpy_lab_runs_through_the_cluster_too(ckpt, service_name):
    from nets.scratch.lab import LabSettings
    jobs = RayJobs(ckpt, max_running=1, name=service_name)
    job = jobs.submit_lab(LabSettings(dataset="mnist-mini", hidden=(16, 8), epochs=2, twin=False), owner="alice")
    v = jobs.wait(job.id, timeout=120)
    assert v.kind == "lab" and v.status == "completed" and v.owner == "alice", (v.error, v.error_details)
    assert job.run_id is None and [r["epoch"] for r in next(iter(v.runs.values()))] == [1, 2]
    jobs.shutdown()


def test_a_web_server_reading_other_checkpoints_is_refused(ckpt, tmp_path, service_name):
    RayJobs(ckpt, name=service_name)
    with pytest.raises(ClusterError, match="NNLAB_CHECKPOINTS"):
        RayJobs(tmp_path / "elsewhere", name=service_name)


def test_an_unwritable_checkpoints_folder_is_refused_at_start(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ClusterError, match="not writable.*same shared folder"):
        check_writable(tmp_path / "file")
    with pytest.raises(ClusterError, match="not writable"):
        RayJobs(tmp_path / "file" / "checkpoints", name="never-created")


def test_a_missing_ray_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(ClusterError, match="requirements-ray.txt"):
        connect("auto")


def test_the_train_page_explains_a_cluster_it_cannot_use(tmp_path, monkeypatch):
    from pagetools import open_page
    (tmp_path / "file").write_text("not a folder")
    monkeypatch.setenv("NNLAB_RAY_ADDRESS", "auto")  # ray is initialized here: connect() keeps it
    at = open_page("pages/train.py", tmp_path / "file" / "checkpoints", monkeypatch)
    assert any("is not writable" in e.value for e in at.error), [e.value for e in at.error]


def test_resource_requests_follow_the_model():
    def train(**config):
        return TrainWork(TrainConfig(**config), "checkpoints").spec()
    assert job_resources(train(model="lenet"), cluster_gpus=4, cpus_per_job=2) == {"num_cpus": 2, "num_gpus": 0.5}
    assert job_resources(train(model="resnet18"), 4, 1)["num_gpus"] == 1.0
    assert job_resources(train(model="mlp", backbone="resnet34"), 4, 1)["num_gpus"] == 1.0
    assert job_resources(train(model="resnet18", device="cpu"), 4, 1)["num_gpus"] == 0.0
    assert job_resources(train(model="resnet18"), 0, 1)["num_gpus"] == 0.0
    assert job_resources(LabWork(LabSettings()).spec(), 4, 1) == {"num_cpus": 1, "num_gpus": 0.0}
    assert default_max_running({"CPU": 32.0, "GPU": 2.0}, 1) == 4
    assert default_max_running({"CPU": 8.0}, 2) == 4 and default_max_running({"CPU": 1.0}, 2) == 1


def test_lost_tasks_are_explained():
    from ray import exceptions as rex
    assert "left the Ray cluster" in loss_reason(rex.NodeDiedError("Task failed because the node it ran on died"))
    assert "out of memory" in loss_reason(rex.OutOfMemoryError("Task was killed due to the node running low on memory"))
    assert "Ray worker process died" in loss_reason(rex.WorkerCrashedError())
    assert loss_reason(rex.RayError("odd")) == "Ray reported RayError: odd"


def test_an_address_where_nothing_answers_is_found_out_at_once():
    with socket.socket() as s:  # a port nobody listens on once this closes
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert unreachable(f"ray://127.0.0.1:{port}").startswith(f"127.0.0.1:{port} (")
    assert unreachable(f"127.0.0.1:{port}") and unreachable("not an address") == ""


def test_the_budget_and_a_students_limit_hold_through_the_ray_client(ckpt, service_name):
    from nets.engine.config import ConfigError
    from nets.work import JobRefused
    jobs = RayJobs(ckpt, max_running=1, name=service_name)
    jobs.set_budget({"params": 1_000_000_000, "queue_per_student": 2}, Access("lecturer", True, False))
    huge = TrainConfig(model="mlp", hidden=(16384,) * 16, dataset="cifar10")
    problem = jobs.budget_problem(huge)
    assert "4,077,289,482 parameters (at most 1,000,000,000)" in problem
    with pytest.raises(JobRefused) as refused:
        jobs.submit(huge, owner="name:mallory")
    assert str(refused.value) == problem and isinstance(refused.value, ConfigError)
    jobs.submit(LONG, owner="name:mallory")
    jobs.submit(TINY, owner="name:mallory")
    with pytest.raises(JobRefused, match="more than the 2 one student"):
        jobs.submit(TINY, owner="name:mallory")
    assert jobs.budget().queue_per_student == 2
    jobs.shutdown()
