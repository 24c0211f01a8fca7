"""What a job does, and `python -m nets worker`: the process that does it, away from the web server.

A job is a plain dict (`kind`, the config, where runs go, who owns it; kind "lab" is the NumPy
lab's, done by nets.scratch.lab.run_lab). `run_job` trains it and
reports through `emit(message)`, a plain dict per engine event (see `event_message`), and returns
the outcome dict. The server's job manager runs it either in a thread of its own process or, by
default, in worker processes started with `python -m nets worker`: one command per line on stdin
(`{"op": "run", ...}`, `{"op": "stop", "job": id}`), one message per line on stdout. A worker stays
alive between jobs, so imports, the warmed-up optimizer and the loaded datasets are reused.
"""
from __future__ import annotations

import gc
import json
import os
import queue
import sys
import threading
import time
import traceback
from collections import OrderedDict
from dataclasses import asdict

import torch

from nets.engine.config import ConfigError, TrainConfig
from nets.engine.data import DatasetError, ImageData
from nets.engine.models import ModelError
from nets.engine.train import (BatchProgress, Converged, Diverged, EarlyStopped, EpochEnd, NewBest, Started,
                               Stopped)
from nets.experiment import prepare_data, run_training
from nets.runs import CheckpointError, check_disk_budget
from nets.scratch.network import ScratchError

REPORTED = (Started, BatchProgress, EpochEnd, Diverged, EarlyStopped, Converged, Stopped)


def event_message(event) -> dict | None:
    """An engine event as a plain message; None for those the server does not keep (NewBest holds
    the weights, Finished comes with the outcome)."""
    if not isinstance(event, REPORTED):
        return None
    return {"type": "event", "kind": type(event).__name__, "data": asdict(event)}


class DataCache:
    """The last few prepared datasets, so a queue of four runs loads its data once."""

    def __init__(self, keep: int = 3):
        self.keep, self._lock, self._data = keep, threading.Lock(), OrderedDict()

    def get(self, cfg: TrainConfig, data_dir, on_progress=None) -> ImageData:
        key = (cfg.dataset, str(data_dir), cfg.folder, cfg.image_size, cfg.val_fraction,
               cfg.train_per_class, cfg.train_fraction, cfg.seed, cfg.backbone)
        return self.load(key, lambda: prepare_data(cfg, data_dir, on_progress=on_progress))

    def load(self, key: tuple, make):
        """The data cached under `key`, made by `make()` when it is not (the NumPy lab's data too)."""
        with self._lock:  # one load per dataset even when several jobs start at once
            if key not in self._data:
                self._data[key] = make()
                while len(self._data) > self.keep:
                    self._data.popitem(last=False)
            self._data.move_to_end(key)
            return self._data[key]


def run_job(spec: dict, emit, stop: threading.Event, cache: DataCache, own_process: bool = False) -> dict:
    """Do the job `spec` describes; returns its outcome: status, and summary or error. `own_process`:
    this process is the job's (a worker), so the job may set process-wide things like thread counts."""
    outcome: dict = {"status": "failed"}
    training = threading.Event()  # its run folder exists: the engine has started
    try:
        if spec.get("kind") == "lab":  # the From-scratch page's NumPy network (nets.scratch.lab)
            from nets.scratch.lab import run_lab
            return run_lab(spec, emit, stop, cache, own_process)
        if spec.get("kind", "train") != "train":
            raise ConfigError(f"This worker cannot run jobs of kind {spec.get('kind')!r}.")
        cfg = TrainConfig.from_dict(spec["config"])
        check_disk_budget(spec["checkpoints"], spec.get("disk_budget", 0))

        def on_progress(text: str, fraction: float | None = None) -> None:  # a download, then features
            emit({"type": "phase", "text": text, "fraction": fraction})

        if slow := deliberate_delay("NNLAB_TEST_SLOW_LOAD_S"):  # tests: a load that cannot be interrupted
            emit({"type": "phase", "text": "Loading the data (slowly, for a test)", "fraction": None})
            time.sleep(slow)
        data = cache.get(cfg, spec.get("data_dir"), on_progress)
        emit({"type": "phase", "text": None, "fraction": None})
        slow_epoch = deliberate_delay("NNLAB_TEST_SLOW_EPOCH_S")  # tests: a long step in the loop, after a best model

        def on_event(event) -> None:
            if isinstance(event, Started):
                training.set()
            message = event_message(event)
            if message is not None:
                emit(message)
            if slow_epoch and isinstance(event, NewBest):  # the recorder has saved its weights
                time.sleep(slow_epoch)

        summary = run_training(cfg, data, checkpoints=spec["checkpoints"], on_event=on_event, stop=stop,
                               owner=spec.get("owner", ""), run_id=spec.get("run_id"),
                               group=spec.get("group", ""))
        outcome = {"summary": summary.to_dict(), "status": summary.status}
    except Exception as e:  # noqa: BLE001 - sorted out below; the worker goes on in every case
        outcome.update(failure(spec, e, training.is_set()))
    finally:
        gc.collect()  # a failed job's tensors are garbage now: give their memory back
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return outcome


def failure(spec: dict, e: Exception, training: bool = False) -> dict:
    """A failed job's error and details, in words. `training`: its run folder had been made."""
    if training and folder_gone(spec, e):
        return {"error": "This run's folder was deleted while it trained, so the job ended; nothing of it was kept."}
    if isinstance(e, (ConfigError, DatasetError, ModelError, CheckpointError, ScratchError)):
        return {"error": str(e), "error_details": getattr(e, "details", "")}
    if isinstance(e, (torch.cuda.OutOfMemoryError, MemoryError)):
        where = "GPU" if isinstance(e, torch.cuda.OutOfMemoryError) else "the server's"
        return {"error": (f"Out of {where} memory ({str(e).splitlines()[0][:160]}). Try a smaller batch "
                          "size or model, or wait until fewer jobs run. The other jobs go on.")}
    return {"error": f"{type(e).__name__}: {e}", "error_details": traceback.format_exc()}  # a bug


def deliberate_delay(variable: str) -> float:
    """Seconds of deliberate slowness a test asks for through the environment (0: none)."""
    try:
        return max(float(os.environ.get(variable) or 0), 0.0)
    except ValueError:
        return 0.0


def folder_gone(spec: dict, error: Exception) -> bool:
    """The job's run folder vanished under it (deleted while it trained): a missing file, and no folder."""
    if not isinstance(error, (OSError, CheckpointError)) or not spec.get("run_id") or not spec.get("checkpoints"):
        return False
    return not os.path.isdir(os.path.join(spec["checkpoints"], spec["run_id"]))


def mark_interrupted(spec: dict) -> bool:
    """The server went away while this job trained: its run is 'interrupted' (as start-up recovery
    would mark it), keeping the best weights it saved. Whether it was marked."""
    from nets.runs import get_run, update_run
    try:
        run = get_run(spec["checkpoints"], spec["run_id"])
        if run.info.get("status") in ("running", "stopped"):
            update_run(run, status="interrupted", note="The server stopped while this run trained; the best "
                       "model up to then is kept.")
            return True
    except (CheckpointError, OSError, KeyError, TypeError):
        pass  # it had not created its run yet, or it is gone
    return False


# ------------------------------------------------------------------------------ the process
def warm_up(threads: int) -> None:
    torch.set_num_threads(threads)
    # The first optimizer in a process imports torch._dynamo (~1 s): before the first job, not in it.
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1).step()


def main() -> None:
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)  # messages only, one per line
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # anything else printed goes to the server's log
    sys.stdout = sys.stderr
    write_lock = threading.Lock()
    stops: dict[str, threading.Event] = {}
    orphaned = threading.Event()  # the server is gone: its end of our stdin or stdout closed

    def abandon() -> None:
        """Stop whatever trains: nobody hears of it, and its run is marked interrupted."""
        orphaned.set()
        for event in list(stops.values()):
            event.set()

    def send(message: dict) -> None:
        with write_lock:
            try:
                channel.write(json.dumps(message) + "\n")
            except (BrokenPipeError, OSError, ValueError):  # the server died: stop, do not die mid-write
                abandon()

    # Below the web server in the CPU's queue: a student's page view goes first, training takes the rest.
    os.nice(int(os.environ.get("NNLAB_WORKER_NICE", "5")))
    warm_up(int(os.environ.get("NNLAB_WORKER_THREADS") or torch.get_num_threads()))
    commands: queue.Queue = queue.Queue()

    def read_commands() -> None:
        for line in sys.stdin:  # a stop must arrive while a job trains: read on this thread
            try:
                cmd = json.loads(line)
            except ValueError:
                continue
            if cmd.get("op") == "stop":
                stops.setdefault(cmd["job"], threading.Event()).set()
            else:
                commands.put(cmd)
        abandon()  # the server closed our stdin (a shutdown) or died: stop the job, then leave
        commands.put(None)

    threading.Thread(target=read_commands, daemon=True).start()
    cache = DataCache()
    send({"type": "ready", "pid": os.getpid(), "device": os.environ.get("CUDA_VISIBLE_DEVICES", "")})
    while (cmd := commands.get()) is not None:
        if cmd.get("op") != "run" or orphaned.is_set():
            continue
        job_id = cmd["job"]
        stop = stops.setdefault(job_id, threading.Event())
        outcome = run_job(cmd, lambda m: send({"job": job_id, **m}), stop, cache, own_process=True)
        stops.pop(job_id, None)
        if orphaned.is_set() and cmd.get("kind", "train") == "train" and mark_interrupted(cmd):
            outcome["status"] = "interrupted"
        send({"job": job_id, "type": "done", **outcome})  # a server shutting down still hears it
        if orphaned.is_set():
            break
