"""The learning-rate finder as a job of the job service (nets.lrfind_work): in a thread and in a worker process,
its live points and finished curve in the view, no run saved, only its owner (or the lecturer) sees and stops it,
and it is admitted under the budget of one epoch of its configuration."""
from dataclasses import replace

import pytest
from pagetools import until

from nets.coach import lr_suggest
from nets.engine.config import TrainConfig
from nets.lrfind_work import LRFindView, LRFindWork
from nets.runs.access import Access
from nets.server.jobs import JobManager
from nets.work import JobRefused
from nets.works import WORKS

TINY = TrainConfig(dataset="mnist-mini", model="mlp", hidden=(16,), batch_size=32, epochs=3, train_per_class=100)
# Slow enough per step (a wide MLP on large batches) that the test sees it running before it ends.
SLOW = replace(TINY, hidden=(2048, 2048), batch_size=512)
ALICE, BOB = Access("alice", False, True), Access("bob", False, True)
LECTURER = Access("lecturer", True, False)


def manager(ckpt, backend):
    jobs = JobManager(ckpt, max_running=1, backend=backend)
    yield jobs
    jobs.close()


@pytest.fixture
def jobs(ckpt):  # the service's owner and stop rules are the same whatever runs the job
    yield from manager(ckpt, "thread")


@pytest.fixture
def process_jobs(ckpt):  # a worker process: the spec travels as JSON, the points as messages (the page tests use threads)
    yield from manager(ckpt, "process")


def test_it_is_a_work_the_service_knows_by_kind():
    work = LRFindWork(TINY, "/data", "alice")
    assert WORKS["lrfind"] is LRFindWork and work.run_id is None
    again = LRFindWork.from_spec(work.spec())
    assert again == work and again.unique(["x"]) is again
    assert work.resources(0, 1.0) == {"num_cpus": 1.0, "num_gpus": 0.0}
    assert work.resources(1, 1.0)["num_gpus"] == 0.5  # a small model: half a GPU, like its training
    from nets.server.waits import estimate_s, key_of
    assert key_of(work) == "lrfind" and estimate_s(work, 1) is None  # queue waits never take it for a training


def test_a_search_runs_as_a_job_and_saves_no_run(process_jobs, ckpt):
    jobs = process_jobs
    job = jobs.submit_works([LRFindWork(TINY, None, "alice")], "alice")[0]
    v = jobs.wait(job.id)
    assert isinstance(v, LRFindView) and v.kind == "lrfind" and v.owner == "alice"
    assert v.status == "completed" and v.error is None and v.summary is None
    assert v.curve is not None and 10 <= v.steps == len(v.curve.lrs) <= 100 and v.curve.lrs[-1] <= 10 * 1.0001
    assert v.points["lrs"] == pytest.approx(v.curve.lrs) and v.points["smooth"] == pytest.approx(v.curve.smooth)
    assert v.points["lrs"][0] == pytest.approx(1e-7) and sorted(v.points["lrs"]) == v.points["lrs"]
    assert set(v.suggestions) == set(lr_suggest.RULES) and v.best == lr_suggest.best(v.suggestions)
    assert v.best is not None and 1e-5 < v.best < 10  # an MLP on digits learns: some rate works
    assert v.band == (min(r for r in v.suggestions.values() if r), max(r for r in v.suggestions.values() if r))
    assert v.words and v.started_info["device"] == "cpu"
    assert not [p for p in ckpt.iterdir() if not p.name.startswith(".") and p.is_dir()]  # no run folder


def test_only_the_owner_or_the_lecturer_sees_and_stops_a_search(jobs):
    job = jobs.submit_works([LRFindWork(SLOW, None, "alice")], "alice")[0]
    until(lambda: jobs.view(job.id).steps >= 1, timeout=120)
    assert jobs.view(job.id, BOB) is None and jobs.views(BOB) == []
    assert not jobs.stop(job.id, BOB) and jobs.view(job.id).active
    assert jobs.view(job.id, ALICE).active and [v.id for v in jobs.views(LECTURER)] == [job.id]
    assert jobs.stop(job.id, ALICE)
    v = jobs.wait(job.id)
    assert v.status == "stopped"
    if v.curve is not None:  # stopped between two steps (a worker that would not let go is ended: no curve)
        assert v.curve.stopped == "stop" and len(v.curve.lrs) < 100


def test_it_is_admitted_under_the_budget_of_one_epoch(ckpt):
    jobs = JobManager(ckpt, backend="thread", budget={"minutes": 1})
    try:
        long = replace(TINY, epochs=10_000)
        assert jobs.budget_problem(long)  # training it for ever is over the budget...
        LRFindWork(long, None, "alice").check(jobs)  # ...one epoch of it is not
        small = JobManager(ckpt, backend="thread", budget={"images": 100})
        try:
            with pytest.raises(JobRefused):  # more images in one epoch than a student may train on
                small.submit_works([LRFindWork(TINY, None, "alice")], "alice")
        finally:
            small.close()
    finally:
        jobs.close()
