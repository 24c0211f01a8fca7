import os
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from pagetools import until

from nets.engine.config import ConfigError, TrainConfig
from nets.runs import get_run
from nets.runs.dynamics import read_dynamics
from nets.server.jobs import JobManager
from nets.server.service import JobService
from nets.work import WORK_KEY, DataCache, JobFields, JobRefused, Work, class_path
from nets.server.worker import run_job

TINY = TrainConfig(model="mlp", hidden=(16,), train_per_class=20, epochs=2, batch_size=32, log_every=2)


def service_on(ckpt, backend: str):
    """The job service with one cap on `backend` ("thread", "process", or "shared": the shared queue's socket
    before a thread's manager), closed afterwards."""
    if backend == "shared":
        from shared_queue import shared_queue
        with shared_queue(ckpt, backend="thread", max_running=1) as (client, _):
            yield client
        return
    manager = JobManager(ckpt, max_running=1, backend=backend)
    yield manager
    manager.close()


@pytest.fixture(params=["thread", "process", "shared"])
def jobs(ckpt, request):
    """The same service tests against the backends of one machine: a thread here, worker processes, and
    the queue several web processes share (nets.server.shared_jobs' socket before a thread's manager: the
    transport is what differs; tests/test_serve.py runs it for real). A Ray cluster's job service is held
    to the same rules through its client in tests/test_ray_jobs.py (owner rules, budget, two web servers,
    lost workers, the NumPy lab); running these ten again through it cost a minute of the suite's 15."""
    yield from service_on(ckpt, request.param)


@pytest.fixture(params=["thread", "shared"])
def queue_jobs(ckpt, request):
    """For rules of the queue itself (names, groups), which no backend changes: a thread here and the shared
    queue's socket; worker processes start and stop seconds of their own for nothing these tests read."""
    yield from service_on(ckpt, request.param)


def test_every_backend_is_the_one_job_service(jobs):
    from nets.server.ray_jobs import RayJobs
    assert isinstance(jobs, JobService) and "__getattr__" not in vars(RayJobs)
    assert jobs.workers() == [] and jobs.restarts() == 0 and jobs.running_count() == 0
    assert jobs.in_process() == (getattr(jobs, "backend", "") == "thread")


def test_a_job_trains_in_the_background_and_saves_its_run(jobs, ckpt):
    """...with its layer statistics, live in the view (through threads, worker processes' JSON lines or
    the shared queue's socket) and every record in the run's files."""
    job = jobs.submit(replace(TINY, stats_every=2), owner="alice")
    view = jobs.wait(job.id)
    assert view.status == "completed" and view.error is None
    assert len(view.epochs) == 2 and view.loss_points and view.progress["epoch"] == 2
    assert view.started_info["params"] == 784 * 16 + 16 + 170
    run = get_run(ckpt, view.run_id)
    assert run.info["status"] == "completed"
    assert view.ended >= view.started >= view.created
    steps = view.started_info["batches_per_epoch"] * 2
    saved = read_dynamics(run)
    assert list(saved.step) == [1, *range(2, steps + 1, 2)] and saved.layers == ["fc1", "fc2"]
    assert list(view.dynamics.step) == list(saved.step) and view.dynamics.hist_act.shape[1:] == (1, 43)
    assert run.info["dynamics"]["chunks"] == ["dynamics-e0001.npz", "dynamics-e0002.npz"]


def test_the_cap_queues_jobs_in_order(queue_jobs):
    jobs = queue_jobs
    slow = jobs.submit(TrainConfig(model="mlp", epochs=1000, train_per_class=20, log_every=1))
    queued = [jobs.submit(TINY), jobs.submit(TINY)]
    views = {v.id: v for v in jobs.views()}
    assert views[slow.id].status == "running"
    assert [views[j.id].position for j in queued] == [1, 2]
    jobs.stop(queued[1].id)  # cancel a queued job: it never runs
    assert jobs.view(queued[1].id).status == "cancelled"
    jobs.stop(slow.id)
    assert jobs.wait(slow.id).status == "stopped"
    assert jobs.wait(queued[0].id).status == "completed"
    assert jobs.view(queued[1].id).epochs == []


def test_stop_is_quick_and_keeps_the_best_model(jobs, ckpt):
    job = jobs.submit(TrainConfig(model="mlp", epochs=1000, train_per_class=20, log_every=1))
    while not jobs.view(job.id).epochs:
        time.sleep(0.02)
    at_stop = len(jobs.view(job.id).epochs)
    jobs.stop(job.id)
    view = jobs.wait(job.id)
    # Quick: the loop itself stopped between two batches (its Stopped note; a worker ended after the
    # grace period leaves none), a few epochs after the request at most, not after its 1000.
    assert view.status == "stopped" and view.notes[-1]["kind"] == "Stopped"
    assert len(view.epochs) - at_stop < 100
    assert get_run(ckpt, view.run_id).has_model


def test_failures_are_reported_and_the_queue_moves_on(jobs):
    bad = jobs.submit(TrainConfig(dataset="cifar10", model="mlp"))  # not on disk here
    good = jobs.submit(TINY)
    assert "CIFAR-10" in jobs.wait(bad.id).error and jobs.view(bad.id).status == "failed"
    assert jobs.wait(good.id).status == "completed"


def test_bad_configs_are_refused_at_submit(jobs):
    with pytest.raises(ConfigError, match="learning rate"):
        jobs.submit(TrainConfig(lr=-1.0))
    assert jobs.views() == []


def test_a_group_runs_one_after_another(queue_jobs):
    jobs = queue_jobs
    cfgs = [TINY, TrainConfig(**{**TINY.to_dict(), "loss": "mse"})]
    group = jobs.submit_group(cfgs, name="four")
    for j in group:
        jobs.wait(j.id)
    views = jobs.views(group="four")
    assert [v.status for v in views] == ["completed", "completed"]
    assert views[0].ended <= views[1].started
    assert [get_run(jobs.checkpoints, v.run_id).info["group"] for v in views] == ["four", "four"]  # W&B groups them


def test_views_are_consistent_while_training(jobs):
    cfg = TrainConfig(model="mlp", hidden=(16,), epochs=4, train_per_class=20, log_every=1)
    job = jobs.submit(cfg)
    until(lambda: len(jobs.view(job.id).loss_points) >= 2)   # the polls below run while it trains
    errors, last_seen = [], []

    def poll():
        try:
            images, epochs, deadline = 0, 0, time.time() + 120   # an upper bound, not a speed claim
            while time.time() < deadline:
                v = jobs.view(job.id)
                seen = [n for n, _ in v.loss_points]
                # One snapshot: the points in order, the epochs numbered 1, 2, …, the latest progress
                # the latest point; and a later snapshot never goes back.
                assert seen == sorted(set(seen)), seen
                assert [e["epoch"] for e in v.epochs] == list(range(1, len(v.epochs) + 1))
                assert v.progress is None or v.progress["images_seen"] == seen[-1]
                assert seen[-1] >= images and len(v.epochs) >= epochs
                images, epochs = seen[-1], len(v.epochs)
                if not v.active:
                    break
                time.sleep(0.002)  # four pollers in a tight loop would starve the thread reading the worker
            last_seen.append((images, epochs))
        except Exception as e:  # pragma: no cover - the assertion below reports it
            errors.append(e)

    threads = [threading.Thread(target=poll) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = jobs.wait(job.id)
    assert errors == []
    assert final.status == "completed" and last_seen == [(final.loss_points[-1][0], cfg.epochs)] * 4


def test_every_job_gets_a_distinct_name_from_its_configuration(queue_jobs, ckpt):
    jobs = queue_jobs
    one = replace(TINY, epochs=1)  # its name is what is tested, not its training
    first = jobs.submit(one)
    jobs.wait(first.id)
    second, named = jobs.submit(one), jobs.submit(TrainConfig(**{**one.to_dict(), "name": "my run"}))
    jobs.wait(second.id), jobs.wait(named.id)
    a, b, c = (jobs.view(j.id).label for j in (first, second, named))
    assert a.startswith("mlp 16 · mnist-mini") and "sgd lr 0.01" in a and "cross-entropy" in a
    assert b != a and b.endswith(" #2") and b.startswith(a[:40]) and c == "my run"
    assert {get_run(ckpt, jobs.view(j.id).run_id).name for j in (first, second, named)} == {a, b, c}
    again = jobs.submit(TrainConfig(**{**one.to_dict(), "name": "my run"}))
    assert jobs.view(again.id).label == "my run #2"
    jobs.wait(again.id)


def test_only_the_owner_or_the_lecturer_sees_and_stops_a_job(jobs):
    from nets.runs.access import Access
    alice, bob = Access("alice", False, True), Access("bob", False, True)  # a laptop: no password
    lecturer = Access("lecturer", True, False)
    job = jobs.submit(TrainConfig(model="mlp", epochs=1000, train_per_class=20, log_every=1), owner="alice")
    assert jobs.view(job.id, bob) is None and jobs.views(bob) == []
    assert not jobs.stop(job.id, bob) and jobs.view(job.id).status == "running"
    jobs.stop_group(job.group, bob)
    assert jobs.view(job.id, alice).status == "running" and [v.id for v in jobs.views(alice)] == [job.id]
    assert [v.id for v in jobs.views(lecturer)] == [job.id]
    assert jobs.stop(job.id, lecturer)
    assert jobs.wait(job.id).status == "stopped"


# ------------------------------------------------------------------ a kind of work nets/server does not know
@dataclass(kw_only=True)
class CountView(JobFields):
    counted: list


class CountTracker:
    def __init__(self):
        self.counted = []

    def apply(self, message: dict) -> None:
        self.counted.append(message["i"])

    def view(self, common: dict) -> CountView:
        return CountView(**common, counted=list(self.counted))


class CountWork:
    """A third kind of work, defined here: it counts to n, one message a number (nothing of nets/server
    names it; a worker process rebuilds it from its spec)."""
    kind, run_id, refusal = "count", None, JobRefused

    def __init__(self, n: int):
        self.n = n

    def label(self) -> str:
        return f"count to {self.n}"

    def spec(self) -> dict:
        return {WORK_KEY: class_path(self), "n": self.n}

    @classmethod
    def from_spec(cls, spec: dict):
        return cls(spec["n"])

    def tracker(self) -> CountTracker:
        return CountTracker()

    def check(self, service) -> None:
        if self.n < 0:
            raise ConfigError("Count to 0 or more.")

    def unique(self, taken):
        return self

    def run(self, emit, stop, cache, own_process):
        for i in range(1, self.n + 1):
            emit({"type": "count", "i": i, "pid": os.getpid()})
        return {"status": "completed"}

    def failure(self, error):
        return None

    def lost(self, error, stopped):
        return {"status": "stopped"} if stopped else {"status": "failed", "error": error}

    def interrupted(self):
        return False

    def resources(self, cluster_gpus, cpus_per_job):
        return {"num_cpus": cpus_per_job, "num_gpus": 0.0}


@pytest.mark.parametrize("backend", ["thread", "process"])
def test_a_new_kind_of_work_runs_through_the_service_unchanged(ckpt, backend, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]))
    jobs = JobManager(ckpt, max_running=1, backend=backend)  # its worker processes find this module
    try:
        assert isinstance(CountWork(1), Work) and isinstance(jobs, JobService)
        with pytest.raises(ConfigError, match="Count to 0"):
            jobs.submit_works([CountWork(-1)], owner="alice")
        first, second = jobs.submit_works([CountWork(5), CountWork(3)], owner="alice", group="counts")
        assert [v.status for v in jobs.views(group="counts")] == ["running", "queued"]
        done = [jobs.wait(j.id) for j in (first, second)]
        assert [(v.kind, v.status, v.counted, v.label) for v in done] == [
            ("count", "completed", [1, 2, 3, 4, 5], "count to 5"), ("count", "completed", [1, 2, 3], "count to 3")]
        assert first.run_id is None and done[0].position is None and done[0].ended >= done[0].started
    finally:
        jobs.close()


def test_a_spec_naming_no_work_of_the_app_is_refused_by_the_worker():
    for spec in ({"work": "json:JSONDecoder"}, {"work": "nets.status:Status"}, {}):
        outcome = run_job(spec, lambda m: None, threading.Event(), DataCache())
        assert outcome["status"] == "failed" and "cannot run" in outcome["error"], outcome
