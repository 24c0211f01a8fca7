"""How a run ended, in true sentences: what happened, which model was kept and where, what to do next."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nets.status import ACTIVE, Status

if TYPE_CHECKING:
    from nets.runs import Run

STYLES = {Status.COMPLETED: "success", Status.EARLY_STOPPED: "success", Status.CONVERGED: "success",
          Status.STOPPED: "info", Status.CANCELLED: "info", Status.INTERRUPTED: "warning",
          Status.DIVERGED: "warning", Status.FAILED: "error"}  # how the page colours each ending
SPLIT_NAMES = {"val": "validation", "test": "test"}


@dataclass
class Outcome:
    kind: str                 # how it ended: one of nets.status.ENDED (or the run's own status if it is none of them)
    style: str                # success, info, warning or error: how the page colours it
    headline: str             # what happened, one sentence
    lines: list[str] = field(default_factory=list)        # what was kept and where
    next_steps: list[str] = field(default_factory=list)   # what to try now
    run_id: str | None = None  # the saved run, when there is one the page knows of
    has_model: bool = False   # the run folder holds a model (its weights file)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def _plural(n: int, word: str, plural: str = "") -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def loss_word(loss) -> str:
    """A diverged loss in words: NaN (not a number), infinite, or the number."""
    try:
        x = float(loss)
    except (TypeError, ValueError):
        return "not a number"
    return "NaN (not a number)" if math.isnan(x) else "infinite" if math.isinf(x) else f"{x:.3g}"


def _note(notes: Sequence[dict], kind: str) -> dict | None:
    return next((n for n in notes if n.get("kind") == kind), None)


def _best_from_epochs(epochs: Sequence[dict]) -> tuple[int | None, float | None]:
    """The epoch the engine keeps (first best held-out accuracy) and its test accuracy."""
    best = None
    for e in epochs:
        acc = e.get("val_acc") if e.get("val_acc") is not None else e.get("test_acc")
        if acc is not None and (best is None or acc > best[0]):
            best = (acc, e)
    return (best[1]["epoch"], best[1].get("test_acc")) if best else (None, None)


def describe(status: str, summary: dict | None = None, *, error: str | None = None,
             notes: Sequence[dict] = (), epochs: Sequence[dict] = (), eval_split: str = "test",
             has_model: bool | None = None, checkpoints: str | Path | None = None,
             batches_per_epoch: int | None = None, epochs_planned: int | None = None) -> Outcome | None:
    """The outcome of a run that has ended; None while it is queued or running.

    `summary` is RunSummary.to_dict() (None when the run failed or never started), `notes` the
    Diverged/EarlyStopped/Converged/Stopped event dicts (with "kind"), `epochs` the EpochEnd dicts,
    `eval_split` the split that picked the best model ("val" or "test"), `has_model` whether the run
    folder holds a model (default: inferred from the summary and epochs, as the engine saves one at
    every new best), `checkpoints` the runs folder, for saying where the run is."""
    if status in ACTIVE:
        return None
    summary = summary or {}
    run_id = summary.get("run_id")
    best_epoch, best_acc = summary.get("best_epoch"), summary.get("best_test_acc")
    if best_epoch is None and epochs:   # a failed run has no summary, but its saved best is known
        best_epoch, best_acc = _best_from_epochs(epochs)
    if best_acc is None and best_epoch is not None:  # the kept model is the one at the end of that epoch
        best_acc = next((e.get("test_acc") for e in epochs if e.get("epoch") == best_epoch), None)
    if has_model is None:
        has_model = best_epoch is not None
    finished = len(epochs) if epochs else (summary.get("epochs_run") or 0)
    split = SPLIT_NAMES.get(eval_split, eval_split)
    out = Outcome(status, STYLES.get(status, "info"), "", run_id=run_id, has_model=has_model)

    def kept(prefix: str = "The best model") -> str:
        return f"{prefix}, from epoch {best_epoch}, was kept: test accuracy {_pct(best_acc)}."

    def honest_pick() -> None:
        if has_model and eval_split == "test" and finished >= 2:
            out.lines.append(
                f"The best epoch was picked on the test set itself (the validation fraction is 0), so "
                f"{_pct(best_acc)} is an optimistic estimate of its accuracy on new images. Set a "
                "validation fraction to pick the model fairly and keep the test set for the final score.")
        elif has_model and eval_split == "val" and finished >= 2:
            out.lines.append("The best epoch was picked on the validation set, so the test set played no part "
                             f"in choosing it and {_pct(best_acc)} is a fair estimate for new images.")

    def where() -> None:
        if not run_id:
            return
        at = f" in `{Path(checkpoints)}`" if checkpoints is not None else ""  # the folder is <that>/<run id>
        if has_model:
            out.lines.append(f"Saved as run `{run_id}`{at}: the kept model's weights with its settings and "
                             "per-epoch metrics (run.json).")
        else:
            out.lines.append(f"Its settings and metrics are saved as run `{run_id}`{at}, without a model "
                             "(no weights file).")

    def timing() -> None:
        if summary.get("seconds") is not None and finished:
            out.lines.append(f"{_plural(finished, 'epoch')} in {summary['seconds']:.1f} s, "
                             f"{summary.get('images_per_s') or 0:,.0f} images/s.")

    compare = "Compare it with other runs in Runs, or see its predictions in Predictions."
    if status == Status.COMPLETED:
        total = epochs_planned or finished
        out.headline = f"Completed all {_plural(total, 'epoch')}."
        if has_model:
            out.lines.append(kept())
        honest_pick()
        out.next_steps.append(compare)
    elif status in (Status.EARLY_STOPPED, Status.CONVERGED):
        note = _note(notes, "EarlyStopped" if status == Status.EARLY_STOPPED else "Converged") or {}
        at = note.get("epoch") or finished or "?"
        if status == Status.EARLY_STOPPED:
            patience = note.get("patience")
            out.headline = (f"Stopped early at epoch {at}: {split} accuracy had not improved for "
                            f"{_plural(patience, 'epoch') if patience else 'several epochs'}.")
        else:
            out.headline = (f"Converged at epoch {at}: the training loss improved by less than "
                            f"{note['delta']:g} for {_plural(note['patience'], 'epoch')} running." if note else
                            f"Converged at epoch {at}: the training loss had stopped falling.")
        if has_model:
            out.lines.append(kept())
        honest_pick()
        out.next_steps.append(compare)
    elif status == Status.STOPPED:
        note = _note(notes, "Stopped") or {}
        e, b = note.get("epoch"), note.get("batch")
        of = f" of {batches_per_epoch}" if batches_per_epoch else ""
        if not has_model:
            out.headline = "Stopped before any training step: no model was saved."
        elif e == 1 or (e is None and finished == 0):
            out.headline = (f"Stopped in epoch 1 after {b}{of} batches, before any epoch finished."
                            if b is not None else "Stopped in epoch 1, before any epoch finished.")
            out.lines.append(f"The partly trained model (after those batches) was kept and evaluated: test "
                             f"accuracy {_pct(best_acc)}.")
        else:
            out.headline = (f"Stopped in epoch {e} after {b}{of} batches." if e is not None and b
                            else f"Stopped at the start of epoch {e}." if e is not None else "Stopped.")
            out.lines.append(kept(f"The best model of the {_plural(finished, 'finished epoch')}")
                             + (f" The {_plural(b, 'batch', 'batches')} of the unfinished epoch {e} are not in it."
                                if e is not None and b else ""))
            honest_pick()
        out.next_steps.append(compare if has_model else "Train again and let it run at least one epoch.")
    elif status == Status.DIVERGED:
        note = _note(notes, "Diverged")
        spot = f"in epoch {note['epoch']}, batch {note['batch']}" if note else ""
        out.headline = (f"Diverged {spot}: the training loss became {loss_word(note.get('loss'))}." if note
                        else "Diverged: the training loss became NaN or infinite.")
        if has_model:
            out.lines.append(kept("The best model before that point"))
            honest_pick()
        else:
            out.style = "error"
            out.lines.append(f"No model was saved: it diverged {spot or 'in epoch 1'}, before any epoch "
                             "finished.")
        out.next_steps.append("Lower the learning rate (the doctor below suggests a value) and train again.")
        if not has_model:
            out.next_steps.append("This run has nothing to use in Predictions or Classify; Runs can clean it up.")
    elif status == Status.FAILED:
        out.headline = "Training failed."
        out.lines.append(error or "The reason was not recorded.")
        if has_model:
            out.lines.append(f"The best model up to the failure, from epoch {best_epoch} (test accuracy "
                             f"{_pct(best_acc)}), is saved; Runs lists the run as failed.")
        else:
            out.lines.append("No model was saved.")
    elif status == Status.INTERRUPTED:
        out.headline = ("Interrupted: the process training this run stopped before the run finished "
                        "(for example, the server restarted).")
        out.lines.append(kept("The best model up to then") if has_model else
                         "No model was saved: no epoch had finished.")
        out.next_steps.append("Train it again to finish it.")
    elif status == Status.CANCELLED:
        out.headline = "Cancelled while queued: nothing was trained or saved."
    else:
        out.headline = f"Ended: {status}."
    where()
    timing()
    return out


def describe_job(view, checkpoints: str | Path | None = None,
                 has_model: bool | None = None) -> Outcome | None:
    """The outcome of a job from the job manager (nets.training_work.JobView); None while it is active."""
    info = view.started_info or {}
    split = info.get("eval_split") or ("val" if view.config.val_fraction > 0 else "test")
    return describe(view.status, view.summary, error=view.error, notes=view.notes, epochs=view.epochs,
                    eval_split=split, has_model=has_model, checkpoints=checkpoints,
                    batches_per_epoch=info.get("batches_per_epoch"), epochs_planned=view.config.epochs)


def describe_run(run: Run) -> Outcome | None:
    """The outcome of a saved run (nets.runs.Run). run.json keeps no events, so where a run diverged
    or stopped is not known here; everything else is."""
    info, cfg = run.info, run.info.get("config") or {}
    best, test = info.get("best") or {}, info.get("test") or {}
    status, last = info.get("status", Status.INTERRUPTED), info.get("epochs_run") or len(info.get("history") or [])
    notes = {Status.EARLY_STOPPED: [{"kind": "EarlyStopped", "epoch": last, "patience": cfg.get("patience")}],
             Status.CONVERGED: [{"kind": "Converged", "epoch": last, "patience": cfg.get("converge_patience"),
                            "delta": cfg.get("converge_delta")}]}.get(status, [])
    summary = {"run_id": run.id, "best_epoch": best.get("epoch"), "best_test_acc": test.get("accuracy"),
               "seconds": info.get("seconds"), "images_per_s": info.get("images_per_s"),
               "epochs_run": info.get("epochs_run")}
    return describe(status, summary, error=info.get("error"), notes=notes, epochs=info.get("history") or [],
                    eval_split=best.get("split", "test"), has_model=run.has_model, checkpoints=run.path.parent,
                    epochs_planned=cfg.get("epochs"))
