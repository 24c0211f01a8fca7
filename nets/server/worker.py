"""What a job does, and `python -m nets worker`: the process that does it, away from the web server.

A job is a work (nets.work.Work) given as its spec: plain data naming the work's class.
`run_job` rebuilds the work and does it, reporting through `emit(message)` (plain dicts), and returns
the outcome dict. The server's job manager runs it in a thread of its own process, in worker
processes started with `python -m nets worker` (the default), or in Ray tasks: here one command per
line on stdin (`{"op": "run", "job": id, **spec}`, `{"op": "stop", "job": id}`), one message per line
on stdout. A worker stays alive between jobs, so imports, the warmed-up optimizer and the loaded
datasets are reused.
"""
from __future__ import annotations

import gc
import importlib
import json
import os
import queue
import sys
import threading
import traceback

import torch

from nets import settings
from nets.server.specs import WorkError, from_spec, own_code
from nets.status import Status
from nets.work import DataCache


def run_job(spec: dict, emit, stop: threading.Event, cache: DataCache, own_process: bool = False) -> dict:
    """Do the work `spec` describes; returns its outcome: status, and summary or error. `own_process`:
    this process is the job's (a worker), so the work may set process-wide things like thread counts."""
    outcome: dict = {"status": Status.FAILED}
    work = None
    try:
        work = from_spec(spec)
        return work.run(emit, stop, cache, own_process)
    except Exception as e:  # noqa: BLE001 - sorted out below; the worker goes on in every case
        outcome.update((work.failure(e) if work is not None else None) or failure(e))
    finally:
        gc.collect()  # a failed job's tensors are garbage now: give their memory back
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    return outcome


def failure(e: Exception) -> dict:
    """A failed job's error and details, in words, for an error its work does not know."""
    if isinstance(e, WorkError):
        return {"error": str(e)}
    if isinstance(e, (torch.cuda.OutOfMemoryError, MemoryError)):
        where = "GPU" if isinstance(e, torch.cuda.OutOfMemoryError) else "the server's"
        return {"error": (f"Out of {where} memory ({str(e).splitlines()[0][:160]}). Try a smaller batch "
                          "size or model, or wait until fewer jobs run. The other jobs go on.")}
    return {"error": f"{type(e).__name__}: {e}", "error_details": traceback.format_exc()}  # a bug


def interrupted(spec: dict) -> bool:
    """The server went away while this job ran: its work marks what it saves; whether it did."""
    try:
        return from_spec(spec).interrupted()
    except (WorkError, KeyError, TypeError, ValueError):  # a spec no work of this app can be rebuilt from
        return False


# ------------------------------------------------------------------------------ the process
def warm_up(threads: int) -> None:
    torch.set_num_threads(threads)
    # The first optimizer in a process imports torch._dynamo (~1 s): before the first job, not in it.
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1).step()


def preload(modules: list[str]) -> None:
    """Import the works' modules before the first job (`python -m nets worker MODULE ...`), as the
    server's own works are (nets.server.jobs.WORKS): a job then finds them, torch and the engine loaded."""
    for module in modules:
        if own_code(module):
            importlib.import_module(module)


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
    os.nice(settings.get("NNLAB_WORKER_NICE"))
    warm_up(settings.get("NNLAB_WORKER_THREADS") or torch.get_num_threads())
    preload(sys.argv[1:])
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
        if orphaned.is_set() and interrupted(cmd):
            outcome["status"] = Status.INTERRUPTED
        send({"job": job_id, "type": "done", **outcome})  # a server shutting down still hears it
        if orphaned.is_set():
            break
