"""TensorBoard event files of runs (one folder each, zipped): per-epoch scalars, the confusion matrix as an image, the parameter table as text and the hyperparameters."""
from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from nets.export.material import RunMaterial, confusion_png, gather, zip_folder
from nets.export.result import missing as missing_module, require
from nets.export.result import Exported, file_stem
from nets.text import plain

WHAT = "The TensorBoard export"
HPARAM_METRICS = {"test accuracy": "hparams/test_accuracy", "test loss": "hparams/test_loss"}
TABLE_COLUMNS = ("layer", "type", "output size", "size formula", "params", "formula")


def missing() -> str:
    """'' when TensorBoard is installed; otherwise the sentence the page shows instead of the button."""
    return missing_module(WHAT, "tensorboard")


def export_tensorboard(runs, dataset=None) -> Exported:
    """The runs' event files, one folder per run under one log directory, zipped with a README that
    says `tensorboard --logdir <folder>`. `dataset(run)` gives a run's ImageData (default: from disk)."""
    require(WHAT, "tensorboard")
    material = gather(list(runs), dataset)
    stem = file_stem("nnlab-tensorboard-" + (material[0].run.id if len(material) == 1 else f"{len(material)}-runs"))
    hparams = hyperparameters(material)
    with tempfile.TemporaryDirectory(prefix="nnlab-tb-") as tmp:
        root = Path(tmp) / stem
        for m, hp in zip(material, hparams):
            write_run(root / file_stem(m.label), m, hp)
        (root / "README.txt").write_text(
            "TensorBoard logs from Neural Net Lab, one folder per run:\n"
            + "".join(f"  - {file_stem(m.label)}: {m.run.id}\n" for m in material)
            + f"\nView them with:\n\n    pip install tensorboard\n    tensorboard --logdir {stem}\n")
        return Exported(f"{stem}.zip", zip_folder(root), "application/zip")


def hyperparameters(material: list[RunMaterial]) -> list[dict]:
    """Each run's configuration as TensorBoard hyperparameters (numbers, booleans, text). A setting
    is text in every run once it is text in one (lists, None), so that its column has one type."""
    configs = [m.config for m in material]
    keys = list(dict.fromkeys(k for c in configs for k in c))

    def kind(v) -> type:
        return bool if isinstance(v, bool) else float if isinstance(v, (int, float)) else str

    out = [{} for _ in configs]
    for key in keys:
        kinds = {kind(c.get(key)) for c in configs}
        for c, hp in zip(configs, out):
            v = c.get(key)
            if len(kinds) == 1 and kinds != {str}:
                hp[key] = v
            elif isinstance(v, (list, tuple)):
                hp[key] = ",".join(map(str, v)) or "[]"
            else:
                hp[key] = "none" if v is None else str(v)
    return out


def wall_times(m: RunMaterial) -> list[float]:
    """When each epoch ended: the run's start plus the epochs' seconds (so TensorBoard's 'relative'
    axis shows training time), or now when the run has no start time."""
    try:
        start = time.mktime(time.strptime(m.run.info.get("created", ""), "%Y-%m-%d %H:%M:%S"))
    except ValueError:
        start = time.time()
    times, t = [], start
    for e in m.history:
        t += float(e.get("seconds") or 0.0)
        times.append(t)
    return times


def markdown_table(layers: list[dict]) -> str:
    rows = [[str(r[c]).replace("|", "\\|") for c in TABLE_COLUMNS] for r in layers]
    total = sum(r["params"] for r in layers)
    return "\n".join(["| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS),
                      *("| " + " | ".join(r) + " |" for r in rows),
                      f"| **total** | | | | **{total:,}** | |"])


def write_run(folder: Path, m: RunMaterial, hp: dict) -> None:
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import hparams
    times, last = wall_times(m), (m.history[-1]["epoch"] if m.history else 0)
    with SummaryWriter(log_dir=str(folder)) as w:
        for e, t in zip(m.history, times):
            for (split, axis), v in m.epoch_metrics(e).items():
                w.add_scalar(f"{axis}/{split}", v, e["epoch"], walltime=t)
            if e.get("lr") is not None:
                w.add_scalar("learning rate", float(e["lr"]), e["epoch"], walltime=t)
            if e.get("seconds") is not None:
                w.add_scalar("seconds per epoch", float(e["seconds"]), e["epoch"], walltime=t)
        if m.evaluation is not None:
            image = np.asarray(Image.open(io.BytesIO(confusion_png(m.evaluation))).convert("RGB"))
            w.add_image("confusion matrix", image, last, dataformats="HWC")
            (b, b_acc), (k, k_acc) = m.evaluation.best_class(), m.evaluation.worst_class()
            # TensorBoard reads text summaries as Markdown: a folder's class names are shown as text
            w.add_text("classes", f"best class: **{plain(b)}** ({b_acc:.1%}); worst class: **{plain(k)}** "
                                  f"({k_acc:.1%})", last)
        if m.layers:
            w.add_text("parameter table", markdown_table(m.layers), last)
        if m.notes:
            w.add_text("left out", "\n\n".join(m.notes), last)
        summary = m.summary()
        metrics = {tag: float(summary[key]) for key, tag in HPARAM_METRICS.items() if key in summary}
        for summary_pb in hparams(hp, metrics):
            w.file_writer.add_summary(summary_pb, last)
        for tag, v in metrics.items():
            w.add_scalar(tag, v, last)
