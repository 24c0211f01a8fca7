"""The code export: one run as a zip of runnable PyTorch (model.py, weights.pt, predict.py, train.py, README)."""
# User text (the run's name, a folder, class names) appears in the generated Python only as a literal
# written by repr() (the name on one line first) and never in model.py; every other value is a
# number formatted here or a name from this app's own tables. Whatever a name holds (quotes, triple
# quotes, backslashes such as \x or \N, NUL, newlines), every .py of the zip compiles.
from __future__ import annotations

import io
import json
import time
import zipfile
from dataclasses import replace

import numpy as np
import torch

from nets.engine.catalog import BUNDLED, FOLDER, TITLES
from nets.engine import datamod
from nets.engine.config import TrainConfig
from nets.engine.optim import make_optimizer, make_schedule
from nets.export.model_source import TITLES as MODEL_TITLES, check_source, model_source
from nets.export.result import ExportError, Exported, file_stem, saved_weights, unexportable
from nets.export.template import plural, render
from nets.inspect.preprocess import MNIST_BOX, style_for
from nets.runs import Run
from nets.text import one_line, plain

ZIP_MIME = "application/zip"
# A test image for `python predict.py example.png`: the first of a bundled test set of the same kind.
EXAMPLE_FROM = {"mnist-mini": "mnist-mini", "mnist": "mnist-mini",
                "fashion-mnist-mini": "fashion-mnist-mini", "fashion-mnist": "fashion-mnist-mini"}
TORCHVISION_CLASS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}


def exportable(run: Run) -> str:
    """Why this run cannot be exported as code ("" when it can), in words for the page."""
    cfg = run.config
    if cfg.backbone:
        return (f"This run trained a head on frozen {cfg.backbone} features: its model takes 512 feature "
                "numbers, not pictures, and the backbone is not part of it, so there is no runnable code "
                "to export. Exportable: the metrics (CSV) and the head alone as ONNX.")
    return unexportable(run)


def style_words(style: str, in_shape) -> str:
    c, h, w = in_shape
    if style == "photo":
        return (f"resized keeping its shape to fit {w}×{h}, padded with the training images' mean colour"
                + (", gray" if c == 1 else ""))
    box = f"a {MNIST_BOX}×{MNIST_BOX} box and centred by mass" if style == "mnist" else f"the {w}×{h} field"
    return f"gray, light ink on black, contrast stretched, cropped to the ink, fitted into {box}"


def _arguments(obj, keys) -> str:
    return ", ".join(f"{k}={obj[k]!r}" for k in keys if k in obj and not (k == "nesterov" and not obj[k]))


def optimizer_code(cfg: TrainConfig) -> str:
    """The line that makes the run's optimizer, read off the engine's own (nets.engine.train)."""
    opt = make_optimizer(cfg, [torch.zeros(1, requires_grad=True)])
    keys = ("lr", "momentum", "nesterov", "weight_decay")
    return f"torch.optim.{type(opt).__name__}(params, {_arguments(opt.defaults, keys)})"


def schedule_code(cfg: TrainConfig) -> str:
    sched = make_schedule(cfg, make_optimizer(cfg, [torch.zeros(1, requires_grad=True)]))
    if sched is None:
        return "None"
    name = type(sched).__name__
    if name == "CosineAnnealingLR":
        return "torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS)  # down to 0 over the epochs"
    return f"torch.optim.lr_scheduler.{name}(optimizer, {_arguments(vars(sched), ('step_size', 'gamma'))})"


def _example(dataset: str) -> tuple[bytes, str] | None:
    """A PNG of the first test image of the matching bundled set, and its class."""
    source = EXAMPLE_FROM.get(dataset)
    if source is None or not BUNDLED[source][0].exists():
        return None
    from PIL import Image
    from nets.engine.catalog import CLASSES
    with np.load(BUNDLED[source][0], allow_pickle=False) as z:
        image, label = z["x_test"][0], int(z["y_test"][0])
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue(), CLASSES[source][label]


def _result_words(info: dict) -> str:
    acc = (info.get("test") or {}).get("accuracy")
    best = (info.get("best") or {}).get("epoch")
    epochs = int(info.get("epochs_run") or len(info.get("history") or []))
    trained = f"Trained for {plural(epochs, 'epoch')}"
    tested = f"test accuracy {acc:.2%}" if isinstance(acc, (int, float)) else "not evaluated on the test set"
    return f"{trained}, {tested}" + (f"; the weights are epoch {best}'s, the best one." if best else ".")


def _titles(cfg: TrainConfig) -> tuple[str, str]:
    """The model's and the dataset's titles, from this app's tables only (a record's text is not code)."""
    dataset = "your image folder" if cfg.dataset == FOLDER else TITLES.get(cfg.dataset, "its dataset")
    return MODEL_TITLES.get(cfg.model, "The network"), dataset


def literal(text) -> str:
    """User text as a Python string literal: repr() of it on one line, so it can only ever be a value."""
    return repr(one_line(text))


_INTS = ("epochs", "image_size", "train_per_class", "batch_size", "patience", "train_blocks", "seed")
_FLOATS = ("val_fraction", "train_fraction", "clip_grad")


def _numbers(cfg: TrainConfig) -> dict[str, str]:
    """The settings train.py states as numbers, formatted here (a hand-edited record's text fails)."""
    try:
        return {**{k: str(int(getattr(cfg, k))) for k in _INTS}, **{k: repr(float(getattr(cfg, k))) for k in _FLOATS}}
    except (TypeError, ValueError) as e:
        raise ExportError(f"The run's settings are damaged ({e}); train.py cannot be written.") from e


def predict_script(run: Run) -> str:
    info, cfg = run.info, run.config
    in_shape = tuple(int(v) for v in info["input_shape"])
    style = style_for(in_shape, cfg.dataset)  # as the Classify page chooses it
    return render("predict.py.in", {
        "run": literal(run.name), "style": repr(style), "style_words": style_words(style, in_shape),
        "classes": repr([str(c) for c in info["classes"]]), "input_shape": repr(in_shape),
        "mean": repr([float(v) for v in info["mean"]]), "std": repr([float(v) for v in info["std"]])})


def train_script(run: Run, bundled_file: str | None) -> str:
    cfg = run.config
    title, dataset_title = _titles(cfg)
    h, w = (int(v) for v in run.info["input_shape"][1:])
    values_of = _numbers(cfg)
    values = {
        "title": title, "dataset_title": dataset_title, "run": literal(run.name), "model": literal(cfg.model),
        "eval_words": "validation" if float(values_of["val_fraction"]) > 0 else "test",
        "bundled_file": repr(bundled_file or ""),
        "folder": repr(str(cfg.folder)), "augment": repr([str(a) for a in cfg.augment]),
        "torchvision_class": TORCHVISION_CLASS.get(cfg.dataset, ""),
        "crop": f"({h}, {w}), padding=({max(1, w // 8)}, {max(1, h // 8)})",  # as nets.engine.augment.crop
        "optimizer": optimizer_code(cfg), "schedule": schedule_code(cfg),
        "loss": literal(cfg.loss), "epochs_words": plural(int(values_of["epochs"]), "epoch"), **values_of}
    flags = {"bundled": cfg.dataset in BUNDLED, "idx": cfg.dataset in TORCHVISION_CLASS,
             "cifar": cfg.dataset == "cifar10", "folder": cfg.dataset == FOLDER, "data_dir": cfg.dataset != FOLDER,
             "subset": cfg.train_per_class > 0 or cfg.train_fraction < 1, "augment": bool(cfg.augment),
             "pretrained": cfg.pretrained, "freeze": cfg.train_blocks >= 0}
    mod = _mod(cfg)
    flags.update(data_mod=bool(mod.keep or mod.flips), clean=bool(mod.clean))
    values.update(data_mod_text=literal(datamod.text(mod)), keep=repr(mod.keep), clean=mod.clean,
                  flip_all=repr(mod.flips[0][2] if mod.symmetric else 0),
                  flips=repr(tuple(f for f in mod.flips if f[0] is not None)),
                  num_classes=int(run.info.get("num_classes") or len(run.info.get("classes") or ()) or 10),
                  keep_salt=datamod.KEEP_SALT, flip_salt=datamod.FLIP_SALT)
    return render("train.py.in", values, flags)


def _mod(cfg: TrainConfig) -> datamod.DataMod:
    """The run's training-set modification, as numbers (a damaged record's text fails clearly)."""
    try:
        return datamod.parse(cfg.data_mod)
    except datamod.DataModError as e:
        raise ExportError(f"The run's data modification is damaged ({e}); train.py cannot be written.") from e


def data_mod_note(cfg: TrainConfig, classes) -> str:
    """The README's words on a modified training set ("" for none)."""
    mod = _mod(cfg)
    if not mod:
        return ""
    words = plain(datamod.describe(replace(mod, clean=0), [str(c) for c in classes]), 300)
    note = f"The run trained on a modified training set: {words} (the test set stayed clean)." if words else ""
    if mod.keep or mod.flips:
        note += " train.py makes the same modification (modify_training_set)."
    if mod.clean:
        note += (f" The run dropped the images cleanlab flagged after {mod.clean}-fold cross-validation; "
                 "train.py does not repeat that step.")
    return note.strip()


def readme(run: Run, example: str | None, bundled_file: str | None) -> str:
    """README.md: what each file is and the commands; `example` is the class of example.png."""
    info, cfg = run.info, run.config
    title, dataset_title = _titles(cfg)
    commands = [f"    python predict.py example.png     # a test image of class {example}"] if example else []
    commands += ["    python predict.py your-picture.jpg --top 3",
                 "    python predict.py your-picture.jpg --json   # raw logits"]
    rows = [f"| `data/{bundled_file}` | the images train.py reads: {dataset_title} |\n"] if bundled_file else []
    rows += [f"| `example.png` | a test image of class {example} |\n"] if example else []
    if cfg.dataset == FOLDER:
        note = f"train.py reads your image folder: set FOLDER in it (the run used {plain(cfg.folder, 200)})."
    elif cfg.dataset in TORCHVISION_CLASS or cfg.dataset == "cifar10":
        note = f"train.py downloads {dataset_title} into data/ the first time."
    else:
        note = ""
    if mod_note := data_mod_note(cfg, info.get("classes") or ()):
        note = f"{note}\n\n{mod_note}" if note else mod_note
    return render("README.md.in", {
        "run": plain(run.name, 200), "title": title, "dataset_title": dataset_title, "result": _result_words(info),
        "file_rows": "".join(rows), "torch_version": (info.get("versions") or {}).get("torch", "2"),
        "predict_commands": "\n".join(commands), "in_shape": "×".join(map(str, info["input_shape"])),
        "epochs": plural(int(_numbers(cfg)["epochs"]), "epoch"),
        "example_arg": "example.png" if example else "your-picture.png",
        "data_note": f"\n{note}\n" if note else ""})


def scripts(run: Run, example: str | None, bundled_file: str | None) -> dict[str, str]:
    """predict.py, train.py, README.md and requirements.txt for a run."""
    cfg = run.config
    needs_vision = cfg.dataset not in BUNDLED or cfg.augment or cfg.pretrained
    requirements = "torch\nnumpy\npillow\n" + (
        "torchvision  # train.py: datasets, augmentation, ImageNet weights\n" if needs_vision else "")
    return {"predict.py": predict_script(run), "train.py": train_script(run, bundled_file),
            "README.md": readme(run, example, bundled_file), "requirements.txt": requirements}


def code_zip(run: Run, include_data: bool = True) -> Exported:
    """The run as runnable PyTorch code in a zip (one folder named after the run). `include_data` adds
    the bundled dataset (1-3 MB) so that train.py runs offline. ExportError says why not."""
    if why := exportable(run):
        raise ExportError(why)
    state = saved_weights(run)
    source = model_source(run.info)  # no user text in it: checking it runs only the app's own code
    check_source(source, state)
    bundled = BUNDLED.get(run.config.dataset)
    bundled_file = bundled[0].name if bundled and include_data and bundled[0].exists() else None
    example = _example(run.config.dataset)
    weights = io.BytesIO()
    torch.save({k: v.contiguous() for k, v in state.items()}, weights)
    files = {"model.py": source, "weights.pt": weights.getvalue(),
             **scripts(run, example[1] if example else None, bundled_file),
             "run.json": json.dumps(run.info, indent=1, default=str)}
    if example:
        files["example.png"] = example[0]
    if bundled_file:
        files[f"data/{bundled_file}"] = bundled[0].read_bytes()
    stem = file_stem(run.name)
    buf = io.BytesIO()
    stamp = time.localtime()[:6]
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            entry = zipfile.ZipInfo(f"{stem}/{name}", stamp)
            packed = name.endswith((".npz", ".png"))  # compressed already: storing them is faster
            entry.compress_type = zipfile.ZIP_STORED if packed else zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            z.writestr(entry, content.encode() if isinstance(content, str) else content)
    return Exported(zip_name(run), buf.getvalue(), ZIP_MIME)


def zip_name(run) -> str:
    """The code zip's file name (a page needs it before the zip is built)."""
    return f"{file_stem(run.name)}-pytorch.zip"
