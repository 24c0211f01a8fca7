"""The run store: the SQLite index against the folders, the access rule in SQL, stored evaluations,
recovery and the clean-up policy."""
import itertools
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from nets.engine.config import TrainConfig
from nets.engine.data import load_dataset
from nets.experiment import prepare_data, run_training
from nets.runs.access import ADMIN, Access
from nets.runs.compare import evaluate_run
from nets.runs import (DEFAULT_ROOT, EVAL_FILE, INDEX_FILE, CheckpointError, RunFilter, clean_up,
                       clean_up_candidates, create_run, delete_run, disk_usage, get_run, index, list_runs,
                       load_evaluation, load_model, recover, rename_run, save_best, set_shared, set_starred,
                       stored_evaluation, update_run)
from nets.runs.index import RunIndex

ROOT = Path(__file__).resolve().parent.parent
TINY = TrainConfig(model="mlp", hidden=(16,), train_per_class=20, epochs=2, batch_size=32, log_every=2)


@pytest.fixture(scope="module")
def data():
    return prepare_data(TINY)


def make(ckpt, name, owner="", dataset="mnist-mini", model="mlp", status="completed", created=None, **info):
    """A run folder without training (the index only needs the record)."""
    cfg = TrainConfig(dataset=dataset, model=model, name=name)
    run = create_run(ckpt, cfg, {"owner": owner, **info}, run_id=name.replace(" ", "-"))
    update_run(run, status=status, **({"created": created} if created else {}))
    return run


def fresh_index(ckpt):
    """What a restarted process sees: no memory of having checked the index."""
    RunIndex._ready.discard(str(ckpt / INDEX_FILE))
    return index(ckpt)


def test_the_index_follows_every_change_to_a_run(ckpt):
    run = make(ckpt, "a", owner="ann", test={"accuracy": 0.5}, params=10)
    row = index(ckpt).get("a")
    assert (row.name, row.owner, row.status, row.accuracy, row.params, row.has_model) == ("a", "ann", "completed",
                                                                                          0.5, 10, False)
    save_best(run, {"w": torch.zeros(3)}, best={"epoch": 1, "accuracy": 0.7, "split": "val"})
    assert index(ckpt).get("a").has_model and index(ckpt).get("a").bytes > 0
    rename_run(ckpt, "a", "renamed", Access("ann", False, False))
    set_starred(ckpt, "a", True, Access("ann", False, False))
    assert index(ckpt).get("a") == get_run(ckpt, "a").row()
    assert (index(ckpt).get("a").name, index(ckpt).get("a").starred) == ("renamed", True)
    delete_run(ckpt, "a", ADMIN)
    assert index(ckpt).get("a") is None and index(ckpt).count() == 0


def test_filters_search_order_and_pages(ckpt):
    for i in range(7):
        make(ckpt, f"run {i}", owner="ann" if i % 2 else "bob", dataset="cifar10" if i < 3 else "mnist-mini",
             status="failed" if i == 6 else "completed", created=f"2026-11-0{i + 1} 10:00:00",
             test={"accuracy": i / 10})
    idx = index(ckpt)
    assert [r.id for r in idx.query(limit=3)] == ["run-6", "run-5", "run-4"]
    assert [r.id for r in idx.query(limit=3, offset=3)] == ["run-3", "run-2", "run-1"]
    assert [r.id for r in idx.query(order="accuracy", limit=2)] == ["run-6", "run-5"]
    assert idx.count(RunFilter(dataset="cifar10")) == 3 and idx.count(RunFilter(status="failed")) == 1
    assert [r.id for r in idx.query(RunFilter(text="UN 4"))] == ["run-4"]     # case-insensitive, name or id
    assert idx.query(RunFilter(text="100%_")) == []                          # LIKE's wildcards taken literally
    assert idx.choices("dataset") == ["cifar10", "mnist-mini"]
    assert [r.id for r in idx.query(RunFilter(id="run-2"))] == ["run-2"]
    assert idx.query(RunFilter(id="run-2", dataset="mnist-mini")) == []     # the id and the rest of the filter


def test_the_access_rule_in_sql_is_nets_access(ckpt):
    """Every combination of owner and sharing against every kind of viewer: the index's WHERE clause
    lets through exactly the runs Access.can_view allows."""
    for i, (owner, shared) in enumerate(itertools.product(["", "ann", "bob"], [False, True])):
        make(ckpt, f"r{i}", owner=owner, shared=shared)
    rows = index(ckpt).query(limit=-1)
    viewers = [Access(o, lect, single) for o in ("", "ann", "carl") for lect in (False, True) for single in (False, True)]
    for who in viewers:
        expected = {r.id for r in rows if who.can_view(r.info)}
        assert {r.id for r in index(ckpt).query(viewer=who, limit=-1)} == expected
        assert index(ckpt).count(viewer=who) == len(expected)
        mine = {r.id for r in index(ckpt).query(RunFilter(scope="mine"), viewer=who, limit=-1)}
        assert mine == {r.id for r in rows if r.owner and r.owner == who.owner}
        shared = {r.id for r in index(ckpt).query(RunFilter(scope="shared"), viewer=who, limit=-1)}
        assert shared == {r.id for r in rows if r.shared}


def test_changes_check_who_is_asking(ckpt):
    make(ckpt, "hers", owner="ann")
    bob, ann, lecturer = Access("bob", False, False), Access("ann", False, False), Access("", True, False)
    for change in (lambda w: rename_run(ckpt, "hers", "mine now", w), lambda w: delete_run(ckpt, "hers", w),
                   lambda w: set_starred(ckpt, "hers", True, w), lambda w: clean_up(ckpt, w)):
        with pytest.raises(CheckpointError):
            change(bob)
    with pytest.raises(CheckpointError, match="Only the lecturer shares"):
        set_shared(ckpt, "hers", True, ann)
    set_shared(ckpt, "hers", True, lecturer)
    assert index(ckpt).get("hers").shared and get_run(ckpt, "hers").name == "hers"


def test_a_missing_or_corrupt_index_is_rebuilt_from_the_folders(ckpt):
    for i in range(3):
        make(ckpt, f"r{i}", owner="ann")
    before = index(ckpt).query(limit=-1)
    for damage in ("delete", "garbage", "old schema"):
        path = ckpt / INDEX_FILE
        if damage == "delete":
            for p in ckpt.glob(INDEX_FILE + "*"):
                p.unlink()
        elif damage == "garbage":
            for p in ckpt.glob(INDEX_FILE + "*"):
                p.unlink()
            path.write_bytes(b"this is not a database" * 100)
        else:
            with sqlite3.connect(path) as db:
                db.execute("PRAGMA user_version = 0")
        assert fresh_index(ckpt).query(limit=-1) == before, damage
    assert list(ckpt.glob(f".{INDEX_FILE}.corrupt-*"))  # the damaged file is kept aside, not lost


def test_rebuild_and_sync_with_folders_changed_by_hand(ckpt, tmp_path):
    make(ckpt, "a")
    make(ckpt, "b")
    shutil.copytree(DEFAULT_ROOT / "lenet-mnist-mini", ckpt / "lenet-mnist-mini")  # copied in by hand
    shutil.rmtree(ckpt / "a")                                                      # removed by hand
    got = recover(ckpt)
    assert (got.rows_added, got.rows_removed) == (["lenet-mnist-mini"], ["a"])
    assert sorted(index(ckpt).ids()) == ["b", "lenet-mnist-mini"]
    assert index(ckpt).get("lenet-mnist-mini").images
    assert index(ckpt).rebuild() == 2
    assert not recover(ckpt)  # idempotent: nothing left to do


def test_several_processes_write_the_index_at_once(ckpt):
    """Worker processes create and update runs while another process reads (WAL mode)."""
    script = ("import sys; from nets.engine.config import TrainConfig; from nets.runs import create_run, update_run\n"
              "for i in range(15):\n"
              "    r = create_run(sys.argv[1], TrainConfig(name='p'), {'owner': sys.argv[2]}, run_id=f'{sys.argv[2]}-{i}')\n"
              "    update_run(r, status='completed')\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(ckpt), who], cwd=ROOT) for who in ("ann", "bob")]
    while any(p.poll() is None for p in procs):
        index(ckpt).query(limit=-1)  # reading meanwhile never fails
    assert [p.returncode for p in procs] == [0, 0]
    assert index(ckpt).count() == 30 and index(ckpt).count(RunFilter(status="completed")) == 30


def test_clean_up_policy(ckpt):
    now = time.mktime(time.strptime("2026-11-30 12:00:00", "%Y-%m-%d %H:%M:%S"))
    make(ckpt, "old failed", status="failed", created="2026-11-01 10:00:00")
    make(ckpt, "old starred", status="interrupted", created="2026-11-01 10:00:00", starred=True)
    make(ckpt, "new failed", status="failed", created="2026-11-29 10:00:00")
    make(ckpt, "old done", status="completed", created="2026-11-01 10:00:00")
    make(ckpt, "old running", status="running", created="2026-11-01 10:00:00")
    (ckpt / "old-failed" / "ballast.bin").write_bytes(b"\0" * 50_000)
    update_run(get_run(ckpt, "old-failed"))  # the row's size follows the folder
    assert [r.id for r in clean_up_candidates(ckpt, 7, now=now)] == ["old-failed"]
    report = clean_up(ckpt, ADMIN, older_than_days=7, now=now)
    assert report.removed == ["old-failed"] and report.bytes_freed >= 50_000
    assert report.message() == f"Removed 1 run(s), freeing {report.bytes_freed / 1024:,.0f} KB."
    assert sorted(index(ckpt).ids()) == ["new-failed", "old-done", "old-running", "old-starred"]
    assert clean_up(ckpt, ADMIN, now=now).removed == ["new-failed"]  # 0 days: any age; starred stays


def test_disk_usage_comes_from_the_index_and_loose_files(ckpt):
    make(ckpt, "a")
    (ckpt / "ballast.bin").write_bytes(b"\0" * 30_000)
    walked = sum(p.stat().st_size for p in ckpt.rglob("*") if p.is_file() and not p.name.startswith(INDEX_FILE))
    assert disk_usage(ckpt) >= walked and disk_usage(ckpt) - walked < 2**20  # plus the index itself


def test_training_stores_the_evaluation_pages_read(ckpt, data):
    s = run_training(TINY, data, checkpoints=ckpt)
    run = get_run(ckpt, s.run_id)
    stored = load_evaluation(run)
    assert stored is not None and (run.path / EVAL_FILE).exists()
    mini = load_dataset("mnist-mini")
    fresh = evaluate_run(run, load_model(run), mini)
    assert stored.accuracy == pytest.approx(fresh.accuracy) == pytest.approx(s.best_test_acc)
    assert torch.equal(stored.predictions, fresh.predictions) and torch.equal(stored.labels, fresh.labels)
    assert torch.allclose(stored.probabilities, fresh.probabilities, atol=1e-6)
    assert stored.classes == fresh.classes and stored.confusion.sum() == len(mini.y_test)
    calls = []
    assert stored_evaluation(run, lambda: calls.append(1)).accuracy == stored.accuracy and calls == []


def test_new_weights_make_the_stored_evaluation_stale(ckpt, data):
    run = get_run(ckpt, run_training(TINY, data, checkpoints=ckpt).run_id)
    old = load_evaluation(run)
    save_best(run, load_model(run).state_dict(), best={"epoch": 9, "accuracy": 0.1, "split": "test"})
    assert load_evaluation(run) is None  # same weights, but written again: evaluated again
    ev = stored_evaluation(run, lambda: evaluate_run(run, load_model(run), load_dataset("mnist-mini")))
    assert ev.accuracy == pytest.approx(old.accuracy) and load_evaluation(get_run(ckpt, run.id)) is not None
    (run.path / EVAL_FILE).write_bytes(b"garbage")
    assert load_evaluation(run) is None  # damaged: computed again, never an error


def test_recovery_tidies_what_a_killed_writer_left(ckpt):
    run = make(ckpt, "killed", status="running", pid=2**22 + 12345)  # no such process
    save_best(run, {"w": torch.zeros(2)}, best={"epoch": 1, "accuracy": 0.3, "split": "test"})
    (run.path / ".run.json.abc.tmp").write_text("{half")
    (run.path / "model-e0002-ffffff.pt").write_bytes(b"orphan")   # written, never recorded
    (ckpt / ".deleted-gone-123456").mkdir()                        # a deletion cut short
    got = recover(ckpt)
    assert got.interrupted == ["killed"] and sorted(got.files_removed) == ["killed/.run.json.abc.tmp",
                                                                           "killed/model-e0002-ffffff.pt"]
    assert sorted(os.listdir(run.path)) == sorted(["run.json", get_run(ckpt, "killed").weights_file])
    assert not (ckpt / ".deleted-gone-123456").exists()
    assert index(ckpt).get("killed").status == "interrupted"
    assert not recover(ckpt)  # idempotent


def test_a_live_run_is_left_alone(ckpt):
    run = make(ckpt, "live", status="running")  # this very process
    (run.path / ".model-e0001-aaaaaa.pt.x.tmp").write_bytes(b"being written")
    assert not recover(ckpt) and (run.path / ".model-e0001-aaaaaa.pt.x.tmp").exists()


# ----------------------------------------------------------------------------- killed mid-write
KILLER = """
import os, signal, sys
from nets import files
from nets.engine.config import TrainConfig
from nets.experiment import run_training
from nets.runs import folder

root, step, nth = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = {"n": 0}

def maybe_die(name):
    if name == step:
        seen["n"] += 1
        if seen["n"] == nth:
            os.kill(os.getpid(), signal.SIGKILL)

folder.checkpoint_step = lambda name, run: maybe_die(name)
real_replace = os.replace
def replace(src, dst):  # a kill inside an atomic write: the temporary file is complete, not renamed
    maybe_die("weights-tmp" if str(dst).endswith(".pt") else "record-tmp" if str(dst).endswith(".json") else "")
    real_replace(src, dst)
files.os.replace = replace

run_training(TrainConfig(model="mlp", hidden=(16,), train_per_class=20, epochs=4, batch_size=32, lr=0.05,
                         log_every=2), checkpoints=root)
print("finished without being killed")
"""
STEPS = [("weights-tmp", 2), ("weights-written", 2), ("record-tmp", 5), ("record-written", 4),
         ("record-and-index-written", 2), ("old-weights-removed", 1), ("weights-tmp", 1)]


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """Every kill of STEPS, two processes at a time (each spends most of its life importing torch): the
    checkpoints folder and the finished process of each."""
    out, pending = {}, list(STEPS)
    root = tmp_path_factory.mktemp("killed")
    while pending:
        batch, pending = pending[:2], pending[2:]
        procs = {}
        for step, nth in batch:
            ckpt = root / f"{step}-{nth}" / "checkpoints"
            procs[(step, nth)] = (ckpt, subprocess.Popen(
                [sys.executable, "-c", KILLER, str(ckpt), step, str(nth)], cwd=ROOT, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}))
        for key, (ckpt, proc) in procs.items():
            stdout, stderr = proc.communicate(timeout=300)
            out[key] = (ckpt, proc.returncode, stdout, stderr)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("step,nth", STEPS)
def test_a_kill_at_any_step_leaves_weights_that_match_the_record(killed, step, nth):
    ckpt, returncode, stdout, stderr = killed[(step, nth)]
    assert returncode == -9, f"not killed at {step} #{nth}: {stdout} {stderr[-2000:]}"
    RunIndex._ready.clear()  # as a restarted server
    got = recover(ckpt)
    (run,) = list_runs(ckpt)[0]
    assert got.interrupted == [run.id] and run.info["status"] == "interrupted"
    assert list(ckpt.rglob("*.tmp")) == []
    weights = sorted(p.name for p in run.path.glob("model*.pt"))
    assert weights == ([run.weights_file] if run.has_model else [])
    assert index(ckpt).get(run.id) == run.row()
    if run.has_model:
        mini = load_dataset("mnist-mini")
        ev = evaluate_run(run, load_model(run), mini)
        assert run.info["best"]["split"] == "test"
        assert ev.accuracy == pytest.approx(run.info["best"]["accuracy"])
    assert not recover(ckpt)  # idempotent


def test_the_command_line(ckpt, capsys):
    from nets.runs.__main__ import main
    make(ckpt, "old failed", status="failed", created="2020-01-01 10:00:00")
    make(ckpt, "kept")
    main(["rebuild", "--checkpoints", str(ckpt)])
    assert "Indexed 2 runs" in capsys.readouterr().out
    main(["clean", "--dry-run", "--older-than", "30", "--checkpoints", str(ckpt)])
    assert "Would remove 1 run(s)" in capsys.readouterr().out and index(ckpt).count() == 2
    main(["clean", "--older-than", "30", "--checkpoints", str(ckpt)])
    assert "Removed 1 run(s)" in capsys.readouterr().out and index(ckpt).ids() == ["kept"]
    main(["list", "--checkpoints", str(ckpt)])
    assert "kept" in capsys.readouterr().out


def test_a_worker_without_the_index_and_the_service_that_writes_it(ckpt, monkeypatch):
    """A Ray task on another machine writes the shared folder only (NNLAB_INDEX_WRITES=0); the job
    service on the app's machine writes the finished job's row from the folder."""
    from nets.server.jobs import JobManager
    assert index(ckpt).count() == 0  # the app's index exists
    monkeypatch.setenv("NNLAB_INDEX_WRITES", "0")
    make(ckpt, "folder only")
    assert index(ckpt).count() == 0 and (ckpt / "folder-only").is_dir()
    jobs = JobManager(ckpt)  # start-up recovery indexes the folder it did not know
    assert index(ckpt).ids() == ["folder-only"]
    view = jobs.wait(jobs.submit(TINY, owner="ann").id)
    row = index(ckpt).get(view.run_id)
    assert view.status == "completed" and row == get_run(ckpt, view.run_id).row() and row.status == "completed"
    jobs.close()


def test_an_index_damaged_while_the_server_runs_is_rebuilt_on_the_next_query(ckpt):
    make(ckpt, "a")
    assert index(ckpt).ids() == ["a"]      # this process has checked the index: it will not look again
    for p in ckpt.glob(INDEX_FILE + "*"):
        p.unlink()                          # deleted by hand
    assert index(ckpt).ids() == ["a"]
    for p in ckpt.glob(INDEX_FILE + "*"):
        p.unlink()
    (ckpt / INDEX_FILE).write_bytes(b"garbage" * 1000)  # overwritten
    assert index(ckpt).count() == 1 and list(ckpt.glob(f".{INDEX_FILE}.corrupt-*"))
