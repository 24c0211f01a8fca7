"""Outcomes checked against real tiny runs: every sentence about a kept model must match the run folder."""
from dataclasses import asdict, fields
from types import SimpleNamespace

import pytest

import nets.experiment as experiment
import nets.engine.start as start
from nets.engine.config import TrainConfig
from nets.runs import get_run, update_run
from nets.coach.outcome import describe, describe_job, describe_run
from nets.status import ENDED
from pagetools import NaNFrom

TINY = dict(dataset="mnist-mini", train_per_class=20, device="cpu", log_every=1)


def stop_after(batches: int):
    """A stop callable that lets `batches` training batches run (the engine asks before each)."""
    asked = []

    def stop():
        asked.append(1)
        return len(asked) > batches
    return stop


def record(ckpt, stop=None, **cfg):
    """One real run, with what a JobView would hold: summary, notes, epochs, the Started event."""
    cfg = TrainConfig(**{**TINY, **cfg})
    notes, epochs, started = [], [], {}

    def on(e):
        kind = type(e).__name__
        if kind in ("Diverged", "EarlyStopped", "Converged", "Stopped"):
            notes.append({"kind": kind, **asdict(e)})
        elif kind == "EpochEnd":
            epochs.append(asdict(e))
        elif kind == "Started":
            started.update(asdict(e))

    s = experiment.run_training(cfg, checkpoints=ckpt, on_event=on, stop=stop)
    view = SimpleNamespace(status=s.status, summary=s.to_dict(), error=None, notes=notes, epochs=epochs,
                           started_info=started, config=cfg)
    return view, describe_job(view, ckpt)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    ckpt = tmp_path_factory.mktemp("checkpoints")
    out = {"ckpt": ckpt}
    out["completed"] = record(ckpt, model="lenet", lr=0.05, epochs=2)
    out["completed-val"] = record(ckpt, model="lenet", lr=0.05, epochs=2, val_fraction=0.2)
    out["diverged-1"] = record(ckpt, model="mlp", lr=1000.0, batch_size=8, epochs=2)
    with pytest.MonkeyPatch.context() as mp:  # NaN from the 8th batch of epoch 2 (25 batches an epoch)
        build = start.build_model
        mp.setattr(start, "build_model", lambda *a, **k: NaNFrom(build(*a, **k), after=25 + 8))
        out["diverged-2"] = record(ckpt, model="mlp", lr=0.05, batch_size=8, epochs=3)
    out["stopped-1"] = record(ckpt, stop=stop_after(5), model="lenet", lr=0.05, batch_size=8, epochs=3)
    out["stopped-2"] = record(ckpt, stop=stop_after(25 + 5), model="lenet", lr=0.05, batch_size=8, epochs=3)
    out["stopped-0"] = record(ckpt, stop=stop_after(0), model="lenet", epochs=3)
    out["early-stopped"] = record(ckpt, model="mlp", lr=1e-9, epochs=10, patience=2)
    out["converged"] = record(ckpt, model="mlp", lr=0.05, epochs=20, converge_patience=2, converge_delta=0.5)
    return out


def text(o) -> str:
    return " ".join([o.headline, *o.lines, *o.next_steps])


CASES = ["completed", "completed-val", "diverged-1", "diverged-2", "stopped-1", "stopped-2", "stopped-0",
         "early-stopped", "converged"]


@pytest.mark.parametrize("case", CASES)
def test_what_it_says_about_the_model_matches_the_run_folder(runs, case):
    view, o = runs[case]
    assert view.status == case.removesuffix("-val").removesuffix("-0").removesuffix("-1").removesuffix("-2")
    assert o.kind == view.status and o.kind in ENDED
    assert o.style in ("success", "info", "warning", "error")
    folder = runs["ckpt"] / o.run_id
    assert o.has_model == get_run(runs["ckpt"], o.run_id).weights_path.exists() == bool(list(folder.glob("model*.pt")))
    assert ("was kept" in text(o)) == o.has_model
    assert f"`{o.run_id}`" in text(o) and str(runs["ckpt"]) in text(o)   # where it is saved
    saved = describe_run(get_run(runs["ckpt"], o.run_id))                  # the Runs page says the same
    assert (saved.kind, saved.has_model, saved.style) == (o.kind, o.has_model, o.style)


def test_completed(runs):
    view, o = runs["completed"]
    acc = f"{view.summary['best_test_acc']:.1%}"
    assert o.style == "success"
    assert o.headline == "Completed all 2 epochs."
    assert o.lines[0] == f"The best model, from epoch {view.summary['best_epoch']}, was kept: test accuracy {acc}."
    assert any("picked on the test set itself" in line and "optimistic" in line and "validation fraction" in line
               for line in o.lines)
    assert "2 epochs in" in text(o)


def test_a_model_picked_on_the_validation_set_is_called_fair(runs):
    view, o = runs["completed-val"]
    assert view.started_info["eval_split"] == "val"
    assert "picked on the validation set" in text(o) and "optimistic" not in text(o)


def test_diverged_in_the_first_epoch_has_no_model(runs):
    view, o = runs["diverged-1"]
    (note,) = view.notes
    assert note["epoch"] == 1 and not view.epochs
    assert o.style == "error" and not o.has_model
    assert o.headline == f"Diverged in epoch 1, batch {note['batch']}: the training loss became NaN (not a number)."
    where = f"epoch 1, batch {note['batch']}"
    assert f"No model was saved: it diverged in {where}, before any epoch finished." in o.lines
    assert "without a model (no weights file)" in text(o)
    assert "success" != o.style and "best test accuracy —" not in text(o)   # what the page used to say
    assert any("learning rate" in s for s in o.next_steps)


def test_diverged_later_keeps_the_best_model_before_it(runs):
    view, o = runs["diverged-2"]
    assert view.notes[0]["epoch"] == 2 and view.notes[0]["batch"] == 8
    assert o.style == "warning" and o.has_model
    assert o.headline.startswith("Diverged in epoch 2, batch 8:")
    assert f"The best model before that point, from epoch 1, was kept: test accuracy " \
           f"{view.summary['best_test_acc']:.1%}." in o.lines


def test_stopped_in_the_first_epoch_keeps_the_partial_model(runs):
    view, o = runs["stopped-1"]
    assert view.notes == [{"kind": "Stopped", "epoch": 1, "batch": 5}] and not view.epochs
    assert o.style == "info" and o.has_model
    assert o.headline == "Stopped in epoch 1 after 5 of 25 batches, before any epoch finished."
    assert f"test accuracy {view.summary['best_test_acc']:.1%}" in o.lines[0] and "partly trained" in o.lines[0]


def test_stopped_later_keeps_the_finished_epochs_best(runs):
    view, o = runs["stopped-2"]
    assert o.headline == "Stopped in epoch 2 after 5 of 25 batches."
    assert "The best model of the 1 finished epoch, from epoch 1, was kept" in o.lines[0]
    assert "The 5 batches of the unfinished epoch 2 are not in it." in o.lines[0]


def test_stopped_before_any_step_saves_no_model(runs):
    view, o = runs["stopped-0"]
    assert not o.has_model and o.headline == "Stopped before any training step: no model was saved."


def test_early_stopped_and_converged(runs):
    view, o = runs["early-stopped"]
    assert o.style == "success"
    assert o.headline == "Stopped early at epoch 3: test accuracy had not improved for 2 epochs."
    assert o.lines[0].startswith("The best model, from epoch 1, was kept")
    assert "optimistic" in text(o)  # early stopping on the test set is peeking: said plainly
    saved = describe_run(get_run(runs["ckpt"], o.run_id))  # the config gives the patience back
    assert saved.headline == o.headline

    view, o = runs["converged"]
    assert o.headline.startswith(f"Converged at epoch {view.notes[0]['epoch']}: the training loss improved by "
                                 "less than 0.5 for 2 epochs running.")


def test_failed_says_why_and_what_was_saved():
    o = describe("failed", None, error="Out of GPU memory (CUDA out of memory). Try a smaller batch size.")
    assert (o.kind, o.style, o.headline) == ("failed", "error", "Training failed.")
    assert o.lines == ["Out of GPU memory (CUDA out of memory). Try a smaller batch size.", "No model was saved."]
    epochs = [{"epoch": 1, "test_acc": 0.5, "val_acc": None}, {"epoch": 2, "test_acc": 0.7, "val_acc": None}]
    o = describe("failed", None, error="RuntimeError: disk full", epochs=epochs)
    assert o.has_model
    assert "The best model up to the failure, from epoch 2 (test accuracy 70.0%), is saved" in o.lines[1]


def test_interrupted_cancelled_and_active(runs):
    view, _ = runs["completed"]
    run = get_run(runs["ckpt"], view.summary["run_id"])
    update_run(run, status="interrupted")
    try:
        o = describe_run(get_run(runs["ckpt"], run.id))
        assert o.kind == "interrupted" and o.style == "warning" and o.has_model
        assert "was kept" in text(o)
    finally:
        update_run(run, status="completed")
    o = describe("interrupted", {"run_id": "x", "best_epoch": None})
    assert "No model was saved" in text(o) and not o.has_model
    o = describe("cancelled")
    assert (o.style, o.headline) == ("info", "Cancelled while queued: nothing was trained or saved.")
    assert describe("queued") is None and describe("running") is None


def test_describe_job_reads_what_a_job_view_has():
    from nets.training_work import JobView
    names = {f.name for f in fields(JobView)}
    assert {"status", "summary", "error", "notes", "epochs", "started_info", "config"} <= names
