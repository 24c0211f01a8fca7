"""A whole experiment: data → model → `fit` → saved run. The command line and the app's training jobs (nets.training_work) call this."""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from nets.engine import datamod
from nets.engine.config import ConfigError, TrainConfig, four_configs
from nets.engine.catalog import default_data_dir
from nets.engine.data import ImageData, load_dataset, make_splits
from nets.engine.evaluate import evaluate
from nets.engine.start import initial_model, weights_problem  # noqa: F401 (the finder and benches import it here)
from nets.engine.train import fit
from nets.runs import DEFAULT_ROOT, RunRecorder, create_run, save_evaluation, update_run
from nets.status import Status


@dataclass
class RunSummary:
    run_id: str
    name: str
    status: str
    best_test_acc: float | None   # test accuracy of the kept (best) model, a fraction
    best_epoch: int | None
    seconds: float
    images_per_s: float
    params: int

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "name": self.name, "status": self.status,
                "best_test_acc": self.best_test_acc, "best_epoch": self.best_epoch,
                "seconds": round(self.seconds, 3), "images_per_s": round(self.images_per_s, 1),
                "params": self.params}


def prepare_data(cfg: TrainConfig, data_dir: str | Path | None = None, download: bool = True,
                 on_progress=None, stop=None) -> ImageData:
    """The config's dataset and splits; with a `backbone`, its frozen features instead of pixels
    (extracted once, then read from the cache under <data dir>/features); then the training set
    modified as `data_mod` says (modify). `on_progress(text, fraction)` hears about a download, the
    feature extraction and a clean step's cross-validation, which `stop` (as fit takes it) can end."""
    data = load_dataset(cfg.dataset, data_dir, download=download, image_size=cfg.image_size,
                        folder=cfg.folder or None, seed=cfg.seed, on_progress=on_progress)
    data = make_splits(data, cfg.val_fraction, cfg.train_per_class, cfg.train_fraction, cfg.seed)
    if cfg.backbone:
        from nets.engine.frozen_features import features_dataset
        from nets.engine.pretrained import PretrainedError
        cache = Path(data_dir) if data_dir is not None else default_data_dir()
        try:
            data = features_dataset(data, cfg.backbone, cache / "features", input_size=cfg.input_size or 224,
                                    device=cfg.device, on_progress=on_progress)
        except PretrainedError as e:
            raise weights_problem(e) from e
    return modify(cfg, data, on_progress, stop) if cfg.data_mod else data


def data_key(cfg: TrainConfig, data_dir) -> tuple:
    """What prepare_data's result depends on: jobs with equal keys can share one prepared dataset."""
    return (cfg.dataset, str(data_dir), cfg.folder, cfg.image_size, cfg.val_fraction, cfg.train_per_class,
            cfg.train_fraction, cfg.seed, cfg.backbone, cfg.data_mod)


def modify(cfg: TrainConfig, data: ImageData, on_progress=None, stop=None) -> ImageData:
    """The training set as cfg.data_mod says (nets.engine.datamod): keep, flip, then a clean step's k-fold
    cross-validation drops the images cleanlab flags (nets.datalab). Test and validation sets stay as they are."""
    mod = datamod.parse(cfg.data_mod, data.num_classes)  # a folder's class count is known only now
    m = datamod.apply(mod, data.y_train, data.num_classes, cfg.seed)
    data = replace(data, x_train=data.x_train[m.keep], y_train=m.labels,
                   y_train_true=m.true if mod.flips else None, label_check=None)
    if not mod.clean:
        return data
    try:
        from nets.datalab.crossval import clean
    except ModuleNotFoundError as e:
        if not (e.name or "").startswith("nets.datalab"):
            raise
        raise ConfigError("Cleaning labels (clean:k) is not part of this installation (nets.datalab is missing).") from e
    base = replace(cfg, data_mod=datamod.text(replace(mod, clean=0)))
    cleaned, check = clean(base, data, mod.clean, on_progress, stop, index=m.keep)
    return replace(cleaned, label_check=check)


def modification_info(cfg: TrainConfig, data: ImageData) -> dict:
    """For a run's record: the modification in words and what it did to the training set."""
    if not cfg.data_mod:
        return {}
    mod = datamod.parse(cfg.data_mod)
    info = {"text": datamod.text(mod), "words": datamod.describe(mod, data.classes), "train_images": len(data.y_train)}
    if data.y_train_true is not None:
        info["flipped"] = int((data.y_train != data.y_train_true).sum())
    flagged = getattr(data.label_check, "flagged", None)
    if flagged is not None:
        info["dropped"] = int(flagged.sum())
    return {"data_mod": info}


def run_training(cfg: TrainConfig, data: ImageData | None = None, *, data_dir=None,
                 checkpoints: str | Path = DEFAULT_ROOT, on_event=None, stop=None,
                 run_id: str | None = None, owner: str = "", group: str = "") -> RunSummary:
    """Train one configuration and save it as a run; returns its summary. The configuration is checked
    where it comes in (the job service's door, the command line) and again by `fit`; without `data`, a
    folder dataset must lie inside `data_dir` (load_dataset applies that rule where the images are read)."""
    data = data if data is not None else prepare_data(cfg, data_dir)
    model = initial_model(cfg, data)
    run = create_run(checkpoints, cfg, {
        "classes": data.classes, "mean": data.mean, "std": data.std, "scale": data.scale, "owner": owner,
        **({"group": group} if group else {}),  # the four configurations share one (W&B groups them)
        "input_shape": list(data.input_shape), "num_classes": data.num_classes,
        "sizes": {"train": len(data.x_train), "val": 0 if data.x_val is None else len(data.x_val),
                  "test": len(data.x_test)}, **modification_info(cfg, data)}, run_id)
    if data.label_check is not None:  # the clean step's findings, for the Data lab page
        from nets.datalab.labelcheck import save
        save(run, data.label_check)
    recorder = RunRecorder(run, model, data)  # the model and data: each epoch's test-subset features too

    def on(event):
        recorder(event)
        if on_event is not None:
            on_event(event)

    try:
        result = fit(model, data, cfg, on, stop)
    except BaseException as e:
        update_run(run, status=Status.FAILED, error=f"{type(e).__name__}: {e}")
        raise
    f = result.finished
    test_acc = test_loss = None
    if result.best_state is not None:
        ev = evaluate(result.model, data.x_test, data.y_test, data.mean, data.std, data.classes, cfg.loss,
                      scale=data.scale)
        test_acc, test_loss = ev.accuracy, ev.loss
        if not cfg.backbone:  # pages show per-image views of image models only (nets.runs.compare.evaluate_run)
            save_evaluation(run, ev)  # stored once: no page evaluates this run again
    update_run(run, status=f.reason, seconds=f.seconds, images_per_s=f.images_per_s,
               epochs_run=f.epochs_run, test={"accuracy": test_acc, "loss": test_loss},
               finished=time.strftime("%Y-%m-%d %H:%M:%S"))
    return RunSummary(run.id, run.name, f.reason, test_acc, f.best_epoch, f.seconds, f.images_per_s,
                      run.info.get("params", 0))


def run_four_configs(base: TrainConfig, data: ImageData | None = None, *, data_dir=None,
                     checkpoints: str | Path = DEFAULT_ROOT, on_event=None, stop=None) -> list[RunSummary]:
    """The coursework's four runs (SGD/Adam × cross-entropy/squared error) on the same data."""
    configs = four_configs(base)
    data = data if data is not None else prepare_data(configs[0], data_dir)
    results = []
    for cfg in configs:
        results.append(run_training(cfg, data, checkpoints=checkpoints, on_event=on_event, stop=stop))
        if results[-1].status == Status.STOPPED:
            break
    return results
