"""What the W&B, TensorBoard and report exports of a run hold, gathered once: the parameter table, the stored test evaluation, sample pictures, the layer statistics and the confusion matrix as PNG."""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from torch import nn

from nets.engine.data import DatasetError, ImageData, load_dataset
from nets.engine.evaluate import Evaluation
from nets.engine.stats import Dynamics
from nets.engine.models import ModelError
from nets.export.result import ExportError
from nets.inspect.anatomy import layer_table, totals
from nets.inspect.pictures import enlarge_to, to_display
from nets.charts.confusion import MAX_TEXT_CLASSES
from nets.charts.grids import DISPLAY_SIZE
from nets.plots import METRICS, PALETTE
from nets.runs import CheckpointError, Run, load_evaluation, load_model, stored_evaluation
from nets.runs.compare import evaluate_run, normalise, run_labels
from nets.runs.dynamics import has_dynamics, read_dynamics

SAMPLES = 16          # sample predictions, and first mistakes, per run
MAX_RUNS = 12         # a selection larger than this is a mistake, not a report
CELL_PX = (22, 44)    # confusion-matrix cells: the least and most pixels a side
DatasetFor = Callable[[Run], ImageData]


def default_dataset(run: Run) -> ImageData:
    """The run's dataset as already on disk (never downloaded by an export)."""
    cfg = run.config
    return load_dataset(cfg.dataset, download=False, image_size=cfg.image_size, folder=cfg.folder or None)


@dataclass
class Sample:
    index: int          # position in the test split
    true: str
    predicted: str
    confidence: float   # the probability of the predicted class
    correct: bool
    png: bytes | None   # the test image, enlarged with whole pixels; None when the data is not here


@dataclass
class RunMaterial:
    run: Run
    label: str                     # unique among the runs exported together (compare.run_labels)
    layers: list[dict]             # nets.inspect.anatomy.layer_table rows, with their formulas
    evaluation: Evaluation | None  # the stored test evaluation of the best weights
    samples: list[Sample] = field(default_factory=list)    # the first test images
    mistakes: list[Sample] = field(default_factory=list)   # the first test images it gets wrong
    notes: list[str] = field(default_factory=list)         # what is missing, and why
    dynamics: Dynamics | None = None  # the layer statistics, every record (None: the run recorded none)

    @property
    def config(self) -> dict:
        return dict(self.run.info.get("config", {}))

    @property
    def history(self) -> list[dict]:
        return list(self.run.info.get("history") or [])

    def epoch_metrics(self, epoch: dict) -> dict[tuple[str, str], float]:
        """(split, 'loss' | 'accuracy') → value for one history entry, named as nets.plots names them."""
        return {(split, axis): float(epoch[key]) for key, split, axis in METRICS.values()
                if epoch.get(key) is not None}

    def summary(self) -> dict:
        """The numbers a report quotes: test accuracy and loss, best epoch, parameters, best and worst class."""
        info, out = self.run.info, {}
        if self.layers:
            out.update({f"{k} (total)": v for k, v in totals(self.layers).items()})
        elif info.get("params") is not None:
            out["params (total)"] = info["params"]
        test = info.get("test") or {}
        for key in ("accuracy", "loss"):
            if test.get(key) is not None:
                out[f"test {key}"] = float(test[key])
        best = info.get("best") or {}
        if best.get("epoch") is not None:
            out["best epoch"] = int(best["epoch"])
        if info.get("seconds") is not None:
            out["training seconds"] = float(info["seconds"])
        if self.evaluation is not None:
            (b, b_acc), (w, w_acc) = self.evaluation.best_class(), self.evaluation.worst_class()
            out.update({"best class": b, "best class accuracy": b_acc, "worst class": w,
                        "worst class accuracy": w_acc})
        return out


def zip_folder(folder: Path, keep: Callable[[Path], bool] = lambda rel: True) -> bytes:
    """The folder's files (no symlinks) under the folder's own name, those whose relative path `keep` accepts."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder)
            if path.is_file() and not path.is_symlink() and keep(rel):
                z.write(path, (Path(folder.name) / rel).as_posix())
    return buf.getvalue()


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _samples(rows: list[dict], data: ImageData | None) -> list[Sample]:
    def picture(i: int) -> bytes | None:
        if data is None:
            return None
        return png_bytes(enlarge_to(to_display(data.x_test[i].numpy()), DISPLAY_SIZE))
    return [Sample(r["index"], r["true"], r["predicted"], r["confidence"], r["correct"], picture(r["index"]))
            for r in rows]


def gather(runs: list[Run], dataset: DatasetFor | None = None, n_samples: int = SAMPLES) -> list[RunMaterial]:
    """Everything the exports need from each run. A piece that cannot be had (no weights, a dataset that
    is not on this machine, a head on frozen features) is left out with a note, never an error."""
    if not runs:
        raise ExportError("Select at least one run to export.")
    if len(runs) > MAX_RUNS:
        raise ExportError(f"Select at most {MAX_RUNS} runs for one export ({len(runs)} selected).")
    dataset = dataset or default_dataset
    labels = run_labels(runs)
    return [_gather_one(run, labels[run.id], dataset, n_samples) for run in runs]


def _gather_one(run: Run, label: str, dataset: DatasetFor, n_samples: int) -> RunMaterial:
    notes: list[str] = []
    model: nn.Module | None = None
    try:
        model = load_model(run)
    except (CheckpointError, ModelError, RuntimeError, OSError) as e:
        notes.append(f"No model: {e}")
    layers: list[dict] = []
    shape = run.info.get("input_shape")
    if model is not None and shape:
        try:
            layers = layer_table(model, shape)
        except ModelError as e:
            notes.append(f"No parameter table: {e}")
    data: list[ImageData | None] = []  # loaded at most once, and only when needed

    def get_data() -> ImageData:
        if not data:
            try:
                data.append(dataset(run))
            except (DatasetError, OSError, ValueError) as e:
                data.append(None)
                notes.append(f"The {run.config.dataset} test images are not on this server ({e}).")
        if data[0] is None:
            raise DatasetError("no data")
        return data[0]

    evaluation = load_evaluation(run)
    if evaluation is None and model is not None:
        try:
            evaluation = stored_evaluation(run, lambda: evaluate_run(run, model, get_data()))
        except (DatasetError, CheckpointError, ValueError, RuntimeError) as e:
            notes.append("No test evaluation, so no confusion matrix, samples or mistakes"
                         + ("." if isinstance(e, DatasetError) else f": {e}"))
    samples: list[Sample] = []
    mistakes: list[Sample] = []
    if evaluation is not None:
        try:
            images = get_data()
        except DatasetError:
            images = None
        if images is not None and len(images.x_test) != len(evaluation.labels):
            notes.append("The test images here are not those the run was evaluated on.")
            images = None
        if images is None:
            notes.append("The samples and mistakes have no pictures.")
        samples = _samples(evaluation.first_predictions(n_samples), images)
        mistakes = _samples(evaluation.first_mistakes(n_samples), images)
    dynamics = read_dynamics(run)
    if dynamics is None and has_dynamics(run):
        notes.append("The layer statistics recorded with this run could not be read.")
    return RunMaterial(run, label, layers, evaluation, samples, mistakes, notes, dynamics)


# ----------------------------------------------------------------------------- the confusion matrix
def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def _blend(v: float) -> tuple[int, int, int]:
    """White (0) to the palette's blue (1)."""
    blue = tuple(int(PALETTE[0][i:i + 2], 16) for i in (1, 3, 5))
    return tuple(round(255 + (c - 255) * v) for c in blue)


def confusion_png(evaluation: Evaluation) -> bytes:
    """The confusion matrix as a PNG heat map: row i is the true class, column j the predicted one
    (the lecture's convention); colour is the share of row i, numbers are counts when they fit."""
    counts = evaluation.confusion.numpy()
    shares = normalise(counts).numpy()
    names = [str(c) for c in evaluation.classes]
    k = len(names)
    cell = max(CELL_PX[0], min(CELL_PX[1], 480 // max(k, 1)))
    font, small = _font(15), _font(max(9, min(14, cell // 3)))
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = max(int(measure.textlength(n, font=font)) for n in names) + 10
    top, left = 34, label_w + 12
    width, height = left + k * cell + 10, top + k * cell + label_w + 30
    im = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(im)
    draw.text((left, 6), "predicted class (columns) · true class (rows)", fill="black", font=font)
    for i in range(k):
        for j in range(k):
            x, y = left + j * cell, top + i * cell
            draw.rectangle([x, y, x + cell - 1, y + cell - 1], fill=_blend(float(shares[i, j])),
                           outline="#dddddd")
            if k <= MAX_TEXT_CLASSES and counts[i, j]:
                draw.text((x + cell / 2, y + cell / 2), str(int(counts[i, j])), anchor="mm", font=small,
                          fill="white" if shares[i, j] > 0.5 else "black")
        draw.text((left - 8, top + i * cell + cell / 2), names[i], anchor="rm", font=font, fill="black")
        # column names written sideways, so long class names do not overlap
        tag = Image.new("RGB", (label_w, cell), "white")
        ImageDraw.Draw(tag).text((label_w - 4, cell / 2), names[i], anchor="rm", font=font, fill="black")
        im.paste(tag.rotate(90, expand=True), (left + i * cell, top + k * cell + 4))
    return png_bytes(np.asarray(im))
