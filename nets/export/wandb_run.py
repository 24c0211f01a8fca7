"""Weights & Biases, offline: runs written by the wandb package in a child process (no API key, no network), zipped with the one command that uploads them."""
# A child process, because wandb keeps process-wide state (its environment variables, the current run,
# a wandb-core service process): two students exporting at once must not share it, and whatever it
# starts ends with the child. The child imports only wandb, NumPy and the standard library.
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from nets.export.result import ExportError, Exported, file_stem, require
from nets.export.result import missing as missing_module
from nets.export.wandb_log import keep_artifacts_with_run, worth_keeping

PROJECT = "neural-net-lab"
WHAT = "The Weights & Biases export"
TIMEOUT_S = 300
HISTOGRAM_S = 0.002   # and this much more per histogram (about 6x the 0.3 ms wandb took each, under load)
# The .wandb file (W&B's record log, LevelDB's framing): a 7-byte header, then 32 KiB blocks of
# records, each with a 7-byte header: CRC-32 of its type and data, length, type (full, first, middle, last).


def missing() -> str:
    """'' when wandb is installed; otherwise the sentence the page shows instead of the button."""
    return missing_module(WHAT, "wandb")


def sync_command(file_name: str) -> str:
    """What the student runs on their own machine (after `pip install wandb` and `wandb login`), in
    the folder the zip unpacks to: the tables' files are named relative to it."""
    return f"cd {Path(file_name).stem} && wandb sync wandb"


def export_wandb(runs, dataset=None, group: str = "", project: str = PROJECT) -> Exported:
    """The runs as W&B offline runs of one project (and, for several runs, one group), zipped: the
    configuration, per-epoch metrics, summary, confusion matrix, sample predictions and first mistakes
    (tables with images), the parameter table with its formulas and the layer statistics (every
    record: histograms and per-layer scalars under inside/, against train_step). `dataset(run)` gives a run's
    ImageData (default: from disk, never downloaded)."""
    from nets.export.material import gather, zip_folder  # torch-heavy: kept out of the child's imports
    require(WHAT, "wandb")
    material = gather(list(runs), dataset)
    group = group or common_group(runs)
    stem = file_stem(f"nnlab-wandb-{group or material[0].run.id}")
    with tempfile.TemporaryDirectory(prefix="nnlab-wandb-") as tmp:
        tmp = Path(tmp)
        spec = write_spec(material, tmp / "spec", project, group)
        out = tmp / stem
        hists = sum(len(m.dynamics.hist_step) * (2 * len(m.dynamics.layers) + len(m.dynamics.sites))
                    for m in material if m.dynamics is not None)
        run_child(spec, out, tmp, timeout=TIMEOUT_S + HISTOGRAM_S * hists)
        run_dirs = sorted((out / "wandb").glob("offline-run-*"))
        if len(run_dirs) != len(material):
            raise ExportError(f"wandb wrote {len(run_dirs)} runs instead of {len(material)}.")
        for run_dir in run_dirs:
            keep_artifacts_with_run(run_dir, out)
        (out / "README.txt").write_text(readme(f"{stem}.zip", material, group))
        return Exported(f"{stem}.zip", zip_folder(out, worth_keeping), "application/zip")


def common_group(runs) -> str:
    """The runs' W&B group: the group they were trained in (run.json's 'group'), or for a selection
    of several runs one named after them, so W&B compares them side by side."""
    groups = {str(r.info.get("group") or "") for r in runs}
    if len(groups) == 1 and "" not in groups:
        return groups.pop()
    if len(runs) > 1:
        return "compare-" + hashlib.sha1(",".join(sorted(r.id for r in runs)).encode()).hexdigest()[:8]
    return ""


def readme(zip_name: str, material, group: str) -> str:
    from nets.export.dynamics_out import ABOUT
    names = "\n".join(f"  - {m.label} ({m.run.id})" for m in material)
    notes = "\n".join(f"  - {m.label}: {n}" for m in material for n in m.notes)
    return (f"Weights & Biases offline runs from Neural Net Lab{f' (group {group})' if group else ''}:\n{names}\n\n"
            "Upload them from your own machine: pip install wandb, wandb login, unzip the file, and where\n"
            f"you unzipped it:\n\n    {sync_command(zip_name)}\n\n"
            "wandb sync must run in the folder holding this README: the tables' files are named relative to it.\n"
            "(An older wandb wants the run folders: wandb sync wandb/offline-run-*)\n"
            + (f"\nLeft out:\n{notes}\n" if notes else "")
            + (f"\nLayer statistics (step metric train_step): {ABOUT}\n" if any(m.dynamics for m in material) else ""))


# ----------------------------------------------------------------------------- parent: the child's input
def write_spec(material, folder: Path, project: str, group: str) -> Path:
    """Everything the child logs, as JSON plus PNG files and the layer statistics as .npz (the child
    never imports torch)."""
    from nets.export.dynamics_out import for_wandb
    from nets.export.material import confusion_png
    folder.mkdir(parents=True)

    def picture(name: str, png: bytes | None) -> str | None:
        if png is None:
            return None
        (folder / name).write_bytes(png)
        return str(folder / name)

    def rows(samples, prefix: str) -> list[dict]:
        return [{"index": s.index, "true": s.true, "predicted": s.predicted, "confidence": s.confidence,
                 "correct": s.correct, "image": picture(f"{prefix}-{s.index}.png", s.png)} for s in samples]

    runs = []
    for n, m in enumerate(material):
        ev = m.evaluation
        inside = for_wandb(m.dynamics, [int(e["epoch"]) for e in m.history], folder / f"{n}-inside.npz")
        ends = inside.pop("epoch_steps") if inside else [None] * len(m.history)
        runs.append({
            "name": m.label, "notes": "; ".join(m.notes),
            "tags": [m.run.config.dataset, m.run.config.model],
            "config": {**m.config, "run_id": m.run.id, "created": m.run.info.get("created", ""),
                       "classes": m.run.info.get("classes") or [], "params": m.run.info.get("params")},
            "epochs": [{"epoch": e["epoch"], **{f"{split}/{axis}": v for (split, axis), v in m.epoch_metrics(e).items()},
                        **({"lr": e["lr"]} if e.get("lr") is not None else {}),
                        **({"seconds": e["seconds"]} if e.get("seconds") is not None else {}),
                        **({"train_step": end} if end is not None else {})} for e, end in zip(m.history, ends)],
            "inside": inside,
            "summary": m.summary(),
            "confusion": None if ev is None else {"classes": list(ev.classes), "labels": ev.labels.tolist(),
                                                  "predictions": ev.predictions.tolist(),
                                                  "image": picture(f"{n}-confusion.png", confusion_png(ev))},
            "samples": rows(m.samples, f"{n}-sample"), "mistakes": rows(m.mistakes, f"{n}-mistake"),
            "layers": m.layers,
        })
    path = folder / "spec.json"
    path.write_text(json.dumps({"project": project, "group": group, "runs": runs}))
    return path


def child_env(tmp: Path, out: Path) -> dict:
    """No WANDB_* settings of the server's; every file wandb writes lands under tmp, HOME included."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    for name in ("home", "data", "cache", "config", "artifacts"):
        (tmp / name).mkdir(exist_ok=True)
    env.update(HOME=str(tmp / "home"), XDG_CACHE_HOME=str(tmp / "cache"), XDG_CONFIG_HOME=str(tmp / "config"),
               WANDB_MODE="offline", WANDB_DIR=str(out), WANDB_DATA_DIR=str(tmp / "data"),
               WANDB_CACHE_DIR=str(tmp / "cache"), WANDB_CONFIG_DIR=str(tmp / "config"),
               WANDB_ARTIFACT_DIR=str(tmp / "artifacts"), WANDB_SILENT="true", WANDB_CONSOLE="off",
               WANDB_DISABLE_GIT="true", WANDB_DISABLE_CODE="true",
               PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH")])))
    return env


def run_child(spec: Path, out: Path, tmp: Path, timeout: float = TIMEOUT_S) -> None:
    out.mkdir(parents=True)
    proc = subprocess.Popen([sys.executable, "-m", "nets.export.wandb_run", str(spec)], cwd=tmp,
                            env=child_env(tmp, out), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        output = b"(timed out)"
    finally:
        # the child's process group; wandb-core has a session of its own and exits with the child (--pid)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
    if proc.returncode != 0:
        last = output.decode(errors="replace").strip().splitlines()[-3:]
        raise ExportError("wandb could not write the offline runs: " + " ".join(last))


# ----------------------------------------------------------------------------- the child
def log_run(wandb, spec: dict, project: str, group: str) -> None:
    settings = wandb.Settings(silent=True, console="off", x_disable_stats=True, x_disable_meta=True,
                              x_save_requirements=False, save_code=False, disable_git=True,
                              disable_job_creation=True, host="neural-net-lab", program="Neural Net Lab export")
    run = wandb.init(project=project, group=group or None, name=spec["name"], config=spec["config"],
                     tags=spec["tags"], notes=spec["notes"] or None, job_type="train", mode="offline",
                     settings=settings, reinit="create_new")
    try:
        run.define_metric("epoch")
        # with layer statistics, records come between epochs: W&B counts the steps, epoch and train_step are keys
        inside = inside_rows(wandb, spec["inside"]) if spec.get("inside") else []
        epoch_keys = [k for k in dict.fromkeys(k for e in spec["epochs"] for k in e) if k not in ("epoch", "train_step")]
        for key in epoch_keys if inside else ["*"]:
            run.define_metric(key, step_metric="epoch")
        if inside:
            run.define_metric("train_step")
            run.define_metric("inside/*", step_metric="train_step")
        extra = {}
        columns = ["index", "image", "true", "predicted", "confidence", "correct"]
        for key in ("samples", "mistakes"):
            rows = [[r["index"], wandb.Image(r["image"]) if r["image"] else None, r["true"], r["predicted"],
                     r["confidence"], r["correct"]] for r in spec[key]]
            extra["sample predictions" if key == "samples" else "first mistakes"] = wandb.Table(columns=columns, data=rows)
        if spec["layers"]:
            names = list(spec["layers"][0])
            extra["parameter table"] = wandb.Table(columns=names, data=[[row[c] for c in names] for row in spec["layers"]])
        if cm := spec["confusion"]:
            extra["confusion matrix"] = wandb.plot.confusion_matrix(
                y_true=cm["labels"], preds=cm["predictions"], class_names=cm["classes"], title="Confusion matrix (test)")
            extra["confusion matrix image"] = wandb.Image(cm["image"], caption="rows: true class, columns: predicted")
        epochs = spec["epochs"] or [{"epoch": 0, **({"train_step": 0} if inside else {})}]
        rows = [*epochs[:-1], {**epochs[-1], **extra}]  # the tables belong to the last epoch
        if inside:  # in training order, each epoch's metrics after its own records (a stable sort)
            rows = sorted([*inside, *rows], key=lambda r: r["train_step"])
        for row in rows:
            run.log({k: v() if callable(v) else v for k, v in row.items()}, step=None if inside else int(row["epoch"]))
        run.summary.update(spec["summary"])
    finally:
        run.finish()


def inside_rows(wandb, inside: dict) -> list[dict]:
    """One row per record (dynamics_out.for_wandb's file): train_step, epoch, the finite scalars and
    that step's histograms (made when logged: a long run has many)."""
    import numpy as np
    with np.load(inside["file"]) as z:
        a = {k: z[k] for k in z.files}
    hist_row = {int(s): i for i, s in enumerate(a["hist_step"])}
    rows = []
    for r, step in enumerate(a["step"].tolist()):
        row = {"train_step": step, "epoch": int(a["epoch"][r]),
               **{tag: float(v) for tag, v in zip(inside["scalars"], a["scalars"][:, r]) if np.isfinite(v)}}
        for i, tag in enumerate(inside["histograms"] if step in hist_row else ()):
            row[tag] = (lambda c=a[f"counts{i}"][hist_row[step]], e=a[f"edges{i}"]: wandb.Histogram(np_histogram=(c, e)))
        rows.append(row)
    return rows


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    import wandb
    try:
        for run in spec["runs"]:
            log_run(wandb, run, spec["project"], spec["group"])
    finally:
        wandb.teardown()  # ends wandb-core before the parent zips the folder


if __name__ == "__main__":
    main(sys.argv[1])
