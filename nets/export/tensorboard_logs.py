"""TensorBoard event files of runs (one folder each, zipped): per-epoch scalars, the layer statistics (histograms and scalars at every recorded step), the confusion matrix as an image, the parameter table as text and the hyperparameters."""
from __future__ import annotations

import io
import struct
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from nets.export import dynamics_out
from nets.export.material import RunMaterial, confusion_png, gather, zip_folder
from nets.export.result import missing as missing_module, require
from nets.export.result import Exported, file_stem
from nets.text import plain

WHAT = "The TensorBoard export"
HPARAM_METRICS = {"test accuracy": "hparams/test_accuracy", "test loss": "hparams/test_loss"}
TABLE_COLUMNS = ("layer", "type", "output size", "size formula", "params", "formula")
# TensorBoard keeps 10 images and 500 histograms per tag unless told otherwise (a reservoir sample, so a
# long run's early steps vanish: tensorboard #3579); `histograms=0` meant "none" in some versions (#5550)
SAMPLES_PER_PLUGIN = "histograms=100000"


def missing() -> str:
    """'' when TensorBoard is installed; otherwise the sentence the page shows instead of the button."""
    return missing_module(WHAT, "tensorboard")


def view_command(folder: str) -> str:
    """The command that shows the unzipped logs with every recorded histogram step kept."""
    return f"tensorboard --logdir {folder} --samples_per_plugin {SAMPLES_PER_PLUGIN}"


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
            + f"\nView them with:\n\n    pip install tensorboard\n    {view_command(stem)}\n"
            + ("\n--samples_per_plugin keeps every histogram step (TensorBoard would otherwise show 500 per "
               "tag, picked at random).\n\n" + dynamics_out.ABOUT + "\n" if any(m.dynamics for m in material) else ""))
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
        if m.dynamics is not None and len(m.dynamics):
            write_inside(folder, m, times)
            w.add_text("inside training", inside_text(m), int(m.dynamics.step[-1]))
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


def write_inside(folder: Path, m: RunMaterial, epoch_times: list[float]) -> None:
    """Every record of the layer statistics against the training step, in an event file of its own:
    one event per record with its histograms (dynamics_out's buckets) and per-layer scalars."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary
    d = m.dynamics
    epochs = [int(e["epoch"]) for e in m.history]
    start = epoch_times[0] - float(m.history[0].get("seconds") or 0.0) if epoch_times else time.time()
    at = dynamics_out.record_times(d, epochs, epoch_times, start)
    hists, hist_row = dynamics_out.histograms(d), {int(s): i for i, s in enumerate(d.hist_step)}
    values = [(tag, np.asarray(v, np.float64)) for tag, v in dynamics_out.scalars(d)]
    events = [Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString()]
    for r, step in enumerate(d.step.tolist()):
        summary = [Summary.Value(tag=tag, simple_value=float(v[r])) for tag, v in values if np.isfinite(v[r])]
        for h in hists if step in hist_row else ():
            if (raw := dynamics_out.raw(h.counts[hist_row[step]], h.edges)) is not None:
                summary.append(Summary.Value(tag=h.tag, histo=HistogramProto(
                    min=raw["min"], max=raw["max"], num=raw["num"], sum=raw["sum"], sum_squares=raw["sum_squares"],
                    bucket_limit=raw["bucket_limits"], bucket=raw["bucket_counts"])))
        events.append(Event(wall_time=float(at[r]), step=step, summary=Summary(value=summary)).SerializeToString())
    write_records(folder / f"events.out.tfevents.{int(time.time())}.inside", events)


def inside_text(m: RunMaterial) -> str:
    """What the inside/ histograms are, and the training doctor's findings (TensorBoard reads Markdown)."""
    from nets.coach.dynamics import findings
    found = [f"- {plain(f.text)}" for f in findings(m.dynamics)]
    return plain(dynamics_out.ABOUT) + "\n\n" + ("\n".join(found) or "The doctor found no alarms.")


# ----------------------------------------------------------------------------- event files, fast
# TensorBoard's own writer frames each record with a CRC-32C computed in pure Python (0.3 µs a byte):
# minutes for a long run's histograms. The same framing, with the checksums of all records at once in NumPy.
def _crc_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(0x82F63B78), table >> 1).astype(np.uint32)
    return table


CRC_TABLE = _crc_table()


def masked_crc32c(blobs: list[bytes], chunk: int = 1024) -> np.ndarray:
    """TFRecord's masked CRC-32C of each blob (tensorboard's masked_crc32c, vectorised over the blobs)."""
    out = np.zeros(len(blobs), np.uint32)
    order = sorted(range(len(blobs)), key=lambda i: -len(blobs[i]))
    for at in range(0, len(order), chunk):
        rows = order[at:at + chunk]
        lens = np.array([len(blobs[i]) for i in rows])
        data = np.zeros((len(rows), int(lens[0]) if len(rows) else 0), np.uint8)
        for k, i in enumerate(rows):
            data[k, :lens[k]] = np.frombuffer(blobs[i], np.uint8)
        crc = np.full(len(rows), 0xFFFFFFFF, np.uint32)
        live = len(rows)
        for j in range(data.shape[1]):
            while lens[live - 1] <= j:  # the longest first: the blobs still going are a prefix
                live -= 1
            c = crc[:live]
            crc[:live] = CRC_TABLE[(c ^ data[:live, j]) & 0xFF] ^ (c >> 8)
        out[rows] = crc ^ np.uint32(0xFFFFFFFF)
    return (((out >> 15) | (out << 17)) + np.uint32(0xA282EAD8)).astype(np.uint32)


def write_records(path: Path, records: list[bytes]) -> None:
    """An event file: per record its length, the length's masked CRC, the bytes and their masked CRC."""
    heads = [struct.pack("<Q", len(r)) for r in records]
    head_crc, data_crc = masked_crc32c(heads), masked_crc32c(records)
    with open(path, "wb") as f:
        for h, hc, r, rc in zip(heads, head_crc.tolist(), records, data_crc.tolist()):
            f.write(h + struct.pack("<I", hc) + r + struct.pack("<I", rc))
