"""The feature projector's computations as a job (nets.projector_work): its spec travels as JSON, what it
stores is what the page reads, nothing computed twice, and at its door a hostile student is refused: another
student's run, another folder, a path, absurd parameters, an unknown method; their jobs are theirs to stop."""
import json
import threading

import numpy as np
import pytest
from pagetools import tiny_run

from nets.inspect.projection import pca
from nets.projector_work import ProjectorView, ProjectorWork, needed
from nets.runs import get_run
from nets.runs.access import Access
from nets.runs.epoch_features import feature_epochs
from nets.runs.epoch_layouts import load_layouts
from nets.runs.features_cache import load_projection, load_purity, missing, run_features
from nets.runs.folder import update_run
from nets.server.jobs import JobManager
from nets.work import JobRefused
from nets.works import WORKS

ALICE, BOB = Access("alice", False, False), Access("bob", False, False)  # a classroom: runs are their owner's
LECTURER = Access("lecturer", True, False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Alice's tiny MLP (2 epochs, per-epoch features kept), in a module-wide run folder."""
    ckpt = tmp_path_factory.mktemp("projector-work") / "checkpoints"
    ckpt.mkdir()
    run_id = tiny_run(ckpt, "alice-mlp")
    update_run(get_run(ckpt, run_id), owner="alice")
    return ckpt, run_id


def jobs_for(ckpt, backend):
    jobs = JobManager(ckpt, max_running=1, backend=backend)
    return jobs


def work(ckpt, run_id, who=ALICE, part="test", method="pca", **params) -> ProjectorWork:
    return ProjectorWork.asked_by(who, ckpt, run_id, part, method, params)


def test_it_is_a_work_the_service_knows_by_kind(runs):
    ckpt, run_id = runs
    w = work(ckpt, run_id, method="umap", n_neighbors=5)
    assert WORKS["projector"] is ProjectorWork and w.run_id is None and w.unique(["x"]) is w
    again = ProjectorWork.from_spec(json.loads(json.dumps(w.spec())))  # the spec travels as JSON
    assert again == w and again.viewer == {"owner": "alice", "lecturer": False, "single_user": False}
    assert w.resources(1, 1.0) == {"num_cpus": 1.0, "num_gpus": 0.0}


def test_a_job_stores_what_the_page_reads(runs):
    ckpt, run_id = runs
    run = get_run(ckpt, run_id)
    assert missing(run, "pca") == ["features", "purity", "projection"] and needed(run, "test", "pca", {})
    jobs = jobs_for(ckpt, "thread")  # a worker process runs it in tests/test_browser_builder_finder_projector.py
    try:
        job = jobs.submit_works([work(ckpt, run_id)], "alice")[0]
        v = jobs.wait(job.id, timeout=120)
        assert isinstance(v, ProjectorView) and (v.status, v.error, v.kind) == ("completed", None, "projector")
        assert (v.run, v.part, v.method) == (run_id, "test", "pca")
        assert missing(run, "pca") == [] and not needed(run, "test", "pca", {})
        f = run_features(run)  # read back, not computed: the job stored it
        assert len(f) == 1000 and load_purity(run) is not None
        assert np.allclose(load_projection(run, "pca"), pca(f.x), atol=1e-4)
        assert missing(run, "tsne", perplexity=20) == ["projection"]  # features and purity are shared
        ep = jobs.submit_works([work(ckpt, run_id, part="epochs")], "alice")[0]
        assert jobs.wait(ep.id, timeout=120).status == "completed"
        lay = load_layouts(run, "pca")
        assert lay is not None and lay.epochs == feature_epochs(run) == [1, 2]
        assert lay.xy[0].shape == (1000, 2) and 0 <= min(lay.purity) <= max(lay.purity) <= 1
        assert not needed(run, "epochs", "pca", {})
    finally:
        jobs.close()


@pytest.mark.parametrize("who, changes, why", [
    (BOB, {}, "no run 'RUN' for you"),                                         # Alice's run, not shared
    (ALICE, {"of_run": "../RUN"}, "no run '../RUN' for you"),                      # a path, not an id
    (ALICE, {"of_run": "nope"}, "no run 'nope' for you"),
    (ALICE, {"root": "/tmp"}, "only at this server's runs"),                    # another folder
    (ALICE, {"method": "mds"}, "Unknown projection"),
    (ALICE, {"method": "umap", "params": {"n_neighbors": 10**6}}, "between 2 and 200"),  # minutes of CPU
    (ALICE, {"method": "tsne", "params": {"perplexity": float("nan")}}, "between 2 and 100"),
    (ALICE, {"method": "umap", "params": {"metric": "cosine"}}, "no parameter"),
    (ALICE, {"part": "everything"}, "Unknown part"),
])
def test_the_door_refuses_what_is_not_theirs_or_absurd(runs, who, changes, why):
    ckpt, run_id = runs
    w = work(ckpt, run_id, who)
    for k, v in changes.items():
        setattr(w, k, v.replace("RUN", run_id) if isinstance(v, str) else v)
    jobs = jobs_for(ckpt, "thread")
    try:
        with pytest.raises(JobRefused, match=why.replace("RUN", run_id).replace("(", r"\(")):
            jobs.submit_works([w], who.owner)
    finally:
        jobs.close()


def test_the_lecturer_and_a_shared_run_are_let_in(runs):
    ckpt, run_id = runs
    jobs = jobs_for(ckpt, "thread")
    try:
        work(ckpt, run_id, LECTURER).check(jobs)
        update_run(get_run(ckpt, run_id), shared=True)
        work(ckpt, run_id, BOB).check(jobs)  # a run the lecturer shared: Bob may look at it
    finally:
        update_run(get_run(ckpt, run_id), shared=False)
        jobs.close()


def test_only_its_owner_sees_and_stops_it_and_a_stop_ends_it(runs, monkeypatch):
    ckpt, run_id = runs
    import nets.runs.epoch_layouts as layouts
    started, release = threading.Event(), threading.Event()
    def slow(x, method, **params):  # a t-SNE that takes until the test lets go (then a PCA: no real t-SNE)
        started.set()
        release.wait(30)
        return pca(x)
    monkeypatch.setattr(layouts, "project", slow)
    jobs = jobs_for(ckpt, "thread")
    try:
        job = jobs.submit_works([work(ckpt, run_id, part="epochs", method="tsne", seed=3)], "alice")[0]
        assert started.wait(30)
        assert jobs.view(job.id, BOB) is None and not jobs.stop(job.id, BOB)
        assert jobs.view(job.id, ALICE).status == "running"
        assert jobs.stop(job.id, ALICE)
        release.set()
        v = jobs.wait(job.id, timeout=60)
        assert v.status == "stopped" and load_layouts(get_run(ckpt, run_id), "tsne", seed=3) is None
    finally:
        release.set()
        jobs.close()
