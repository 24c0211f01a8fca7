import json
import os
import pickle

import pytest
import torch

from formats import Payload
from nets.engine.config import TrainConfig
from nets.engine.evaluate import evaluate
from nets.engine.models import build_model
from nets.experiment import prepare_data, run_training
from nets.runs import (DEFAULT_ROOT, RUN_FILE, CheckpointError, atomic_write_json, check_run_id,
                       delete_run, get_run, list_runs, load_into, load_model, load_state_dict,
                       rename_run, INDEX_FILE, index)
from nets.engine.events import EpochEnd
from nets.runs.access import ADMIN


@pytest.fixture(scope="module")
def data():
    return prepare_data(TrainConfig(train_per_class=30))


@pytest.fixture
def trained(ckpt, data):
    cfg = TrainConfig(model="mlp", hidden=(32,), epochs=2, lr=0.05, batch_size=32, name="tiny mlp")
    return run_training(cfg, data, checkpoints=ckpt)


def test_run_round_trip(ckpt, data, trained):
    runs, problems = list_runs(ckpt)
    assert [r.id for r in runs] == [trained.run_id] and problems == []
    run = runs[0]
    info = run.info
    assert run.name == "tiny mlp" and info["status"] == "completed"
    assert info["classes"] == data.classes and info["mean"] == data.mean and info["input_shape"] == [1, 28, 28]
    assert len(info["history"]) == 2 and info["history"][0]["epoch"] == 1
    assert info["best"]["epoch"] == trained.best_epoch and "torch" in info["versions"]
    assert info["seconds"] > 0 and info["params"] == 32 * 784 + 32 + 330
    assert run.config == TrainConfig(model="mlp", hidden=(32,), epochs=2, lr=0.05, batch_size=32,
                                     name="tiny mlp")
    model = load_model(run)
    ev = evaluate(model, data.x_test, data.y_test, info["mean"], info["std"], info["classes"])
    assert ev.accuracy == pytest.approx(trained.best_test_acc)


def test_chosen_run_id(ckpt, data):
    s = run_training(TrainConfig(model="mlp", hidden=(8,), epochs=1), data, checkpoints=ckpt, run_id="my-run")
    assert s.run_id == "my-run" and get_run(ckpt, "my-run").has_model
    with pytest.raises(CheckpointError, match="already exists"):
        run_training(TrainConfig(model="mlp", hidden=(8,), epochs=1), data, checkpoints=ckpt, run_id="my-run")


def test_rename_and_delete(ckpt, trained):
    rename_run(ckpt, trained.run_id, "  better name ", ADMIN)
    assert get_run(ckpt, trained.run_id).name == "better name"
    assert index(ckpt).get(trained.run_id).name == "better name"  # the index row changed with it
    with pytest.raises(CheckpointError, match="1 to 100"):
        rename_run(ckpt, trained.run_id, "   ", ADMIN)
    delete_run(ckpt, trained.run_id, ADMIN)
    assert list_runs(ckpt) == ([], []) and index(ckpt).ids() == []
    assert [p for p in os.listdir(ckpt) if not p.startswith(INDEX_FILE)] == []
    with pytest.raises(CheckpointError, match="No run"):
        get_run(ckpt, trained.run_id)


def test_corrupt_weights_give_a_clear_error(ckpt, trained):
    run = get_run(ckpt, trained.run_id)
    run.weights_path.write_bytes(b"\x80\x02 definitely not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable PyTorch weights file"):
        load_model(run)


def test_pickle_payload_never_runs(ckpt, trained, tmp_path):
    run = get_run(ckpt, trained.run_id)
    marker = tmp_path / "pwned"
    torch.save({"weight": Payload(marker)}, run.weights_path)  # a crafted checkpoint
    with pytest.raises(CheckpointError):
        load_model(run)
    assert not marker.exists()
    with open(tmp_path / "plain.pt", "wb") as f:
        pickle.dump(Payload(marker), f)
    with pytest.raises(CheckpointError):
        load_state_dict(tmp_path / "plain.pt")
    assert not marker.exists()


def test_foreign_state_dict_names_the_mismatch(tmp_path):
    torch.save(build_model("mlp", (1, 28, 28), 10).state_dict(), tmp_path / "mlp.pt")
    with pytest.raises(CheckpointError, match="missing: 0.weight.*unexpected: 1.weight"):
        load_into(build_model("lenet", (1, 28, 28), 10), load_state_dict(tmp_path / "mlp.pt"))
    torch.save(build_model("mlp", (1, 28, 28), 5).state_dict(), tmp_path / "mlp5.pt")
    with pytest.raises(CheckpointError, match=r"wrong shape: 3.weight \(5, 128\) ≠ \(10, 128\)"):
        load_into(build_model("mlp", (1, 28, 28), 10), load_state_dict(tmp_path / "mlp5.pt"))
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="does not hold a state dict"):
        load_state_dict(tmp_path / "list.pt")


def test_listing_survives_broken_folders(ckpt, trained):
    (ckpt / "half-made").mkdir()                       # killed before its run.json was written
    (ckpt / "garbled").mkdir()
    (ckpt / "garbled" / RUN_FILE).write_text("{not json")
    (ckpt / "stray.txt").write_text("hello")
    runs, problems = list_runs(ckpt)
    assert [r.id for r in runs] == [trained.run_id]
    assert len(problems) == 2 and any("corrupt" in p for p in problems)


def test_interrupted_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / RUN_FILE
    atomic_write_json(path, {"version": 1})

    def killed(*args):
        raise KeyboardInterrupt  # the process dies between writing and renaming

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_json(path, {"version": 2})
    assert json.loads(path.read_text()) == {"version": 1}
    assert os.listdir(tmp_path) == [RUN_FILE]  # no temporary file left behind


def test_run_ids_cannot_escape_the_folder():
    for bad in ["../etc", "a/b", "", ".hidden", "x" * 200]:
        with pytest.raises(CheckpointError):
            check_run_id(bad)
    assert check_run_id("20261123-lenet_mnist.v2") == "20261123-lenet_mnist.v2"


def test_run_files_are_updated_while_training(ckpt, data):
    seen = []

    def on(event):
        if isinstance(event, EpochEnd):
            run = list_runs(ckpt)[0][0]
            seen.append((run.info["status"], len(run.info["history"]), run.has_model))

    run_training(TrainConfig(model="mlp", hidden=(16,), epochs=2, batch_size=64), data, checkpoints=ckpt,
                 on_event=on)
    # the listener runs after the recorder: the epoch is on disk; the best weights follow the epoch
    assert seen == [("running", 1, False), ("running", 2, True)]


def test_a_run_that_diverges_at_once_has_no_model(ckpt, data):
    s = run_training(TrainConfig(model="lenet", lr=1000.0, epochs=2), data, checkpoints=ckpt)
    run = get_run(ckpt, s.run_id)
    assert s.status == "diverged" and run.info["status"] == "diverged" and not run.has_model
    with pytest.raises(CheckpointError, match="no saved model"):
        load_model(run)


def test_shipped_run_classifies_digits():
    from nets.engine.data import load_dataset
    run = get_run(DEFAULT_ROOT, "lenet-mnist-mini")
    assert run.config.model == "lenet" and run.info["status"] == "completed"
    mini = load_dataset("mnist-mini")
    ev = evaluate(load_model(run), mini.x_test, mini.y_test, run.info["mean"], run.info["std"], run.info["classes"])
    assert ev.accuracy == pytest.approx(run.info["test"]["accuracy"]) and ev.accuracy > 0.9


def test_disk_usage_survives_a_file_vanishing_while_it_counts(tmp_path, monkeypatch):
    """A file listed by scandir and gone before its stat (the index's -wal file, removed by SQLite in
    another process) counts as nothing; it used to fail a student's Train press with FileNotFoundError."""
    import os

    from nets.runs import disk_usage
    (tmp_path / "kept.bin").write_bytes(b"x" * 100)
    real = os.scandir

    def vanishing(path):
        entries = list(real(path))
        (tmp_path / "vanishing.tmp").unlink(missing_ok=True)  # gone between the listing and the stat
        return iter(entries)
    disk_usage(tmp_path)  # the index made first: its own files are counted in both calls below
    (tmp_path / "vanishing.tmp").write_bytes(b"y" * 50)  # (not a -wal: SQLite would remove or replay it)
    monkeypatch.setattr(os, "scandir", vanishing)
    counted = disk_usage(tmp_path, fresh=True)
    monkeypatch.undo()
    assert counted == disk_usage(tmp_path, fresh=True)  # the vanished file counted as nothing, the rest as before


def test_a_train_press_does_not_list_the_runs_folder_each_time(tmp_path, monkeypatch):
    """Sixty presses in a minute: the runs' bytes come from the index, the loose files' from a count at
    most LOOSE_TTL_S old; a lecturer's clean-up asks for a fresh count."""
    import os

    from nets.runs import disk_budget_problem, disk_usage
    real, listed = os.scandir, []
    monkeypatch.setattr(os, "scandir", lambda path: listed.append(path) or real(path))
    (tmp_path / "ballast.bin").write_bytes(b"x" * 3 * 2**20)
    assert "3 MB of their 1 MB" in disk_budget_problem(tmp_path, 2**20)  # (a new index lists it once too)
    first = len(listed)
    for _ in range(59):
        assert "3 MB of their 1 MB" in disk_budget_problem(tmp_path, 2**20)
    assert len(listed) == first
    disk_usage(tmp_path, fresh=True)
    assert len(listed) == first + 1
