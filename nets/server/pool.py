"""The job service's pools: worker processes (start them, hand them jobs, hear their messages, replace
any that dies: a crash, a CUDA error or an out-of-memory kill then costs one job, not the web server and
every student's session with it), and threads of the server's own process (scripts, tests). Both, and
nets.server.ray_tasks.RayTaskPool, offer start, run, stop, workers and close."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from nets import settings
from nets.server.worker import run_job
from nets.work import DataCache

log = logging.getLogger("nnlab.pool")
ROOT = Path(__file__).resolve().parent.parent.parent


def worker_env(index: int, size: int, gpus: int, cores: int) -> dict:
    """Each worker its own GPU where there are several; CPU workers share the cores between them."""
    env = {"NNLAB_WORKER_THREADS": str(settings.get("NNLAB_WORKER_THREADS") or max(1, cores // max(size, 1)))}
    if gpus > 1:
        env["CUDA_VISIBLE_DEVICES"] = str(index % gpus)
    return env


def death_reason(returncode: int | None) -> str:
    if returncode is None:
        return "its process stopped answering"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"its process was killed ({name}{', out of memory?' if name == 'SIGKILL' else ''})"
    return f"its process exited with code {returncode}"


class Worker:
    """One `python -m nets worker` process and the thread that reads its messages."""

    def __init__(self, index: int, env: dict, on_message, on_exit, preload: tuple[str, ...] = ()):
        self.index, self.job_id, self.gpu = index, None, env.get("CUDA_VISIBLE_DEVICES", "")
        self.stopping = None  # the job a Stop ended this process for
        self.proc = subprocess.Popen([sys.executable, "-m", "nets", "worker", *preload], cwd=ROOT,
                                     env={**os.environ, **env},
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.ready = threading.Event()
        self._on_message, self._on_exit = on_message, on_exit
        self._write = threading.Lock()
        threading.Thread(target=self._read, name=f"worker-{index}-reader", daemon=True).start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, command: dict) -> bool:
        with self._write:
            try:
                self.proc.stdin.write(json.dumps(command) + "\n")
                self.proc.stdin.flush()
                return True
            except (BrokenPipeError, OSError, ValueError):  # it died: the reader reports it
                return False

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("type") == "ready":
                self.ready.set()
            self._on_message(self, message)
        self.proc.wait()
        self._on_exit(self)

    def close(self, timeout: float = 5.0) -> None:
        try:
            self.proc.stdin.close()  # the worker finishes its job's step and leaves
        except OSError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class ProcessPool:
    """`size` workers, started on first use. `on_message(job_id, message)` hears every message of a
    job; `on_lost(job_id, reason)` hears that the process running it died (it is replaced), with
    `stopped=True` when the pool ended it because a Stop did not take effect in time."""
    in_process = False  # the jobs run in processes of their own
    local_index = True  # they write the runs' index of this machine themselves

    def __init__(self, size: int, on_message, on_lost, on_idle, preload: tuple[str, ...] = ()):
        import torch
        self.size, self._on_message, self._on_lost, self._on_idle = size, on_message, on_lost, on_idle
        self.preload = tuple(preload)  # modules each worker imports before its first job (the works')
        self._gpus, self._cores = torch.cuda.device_count(), os.cpu_count() or 1
        self._lock = threading.Lock()
        self._workers: list[Worker] = []
        self._closed = False
        self.restarts = 0

    def _spawn(self, index: int) -> Worker:
        return Worker(index, worker_env(index, self.size, self._gpus, self._cores), self._message, self._exit,
                      self.preload)

    def start(self) -> None:
        with self._lock:
            while not self._closed and len(self._workers) < self.size:
                self._workers.append(self._spawn(len(self._workers)))

    def run(self, job_id: str, command: dict) -> bool:
        """Hand the job to an idle worker; False when none is idle (the caller keeps it queued)."""
        self.start()
        with self._lock:
            worker = next((w for w in self._workers if w.job_id is None and w.proc.poll() is None), None)
            if worker is None:
                return False
            worker.job_id = job_id
        worker.send({"op": "run", "job": job_id, **command})  # if it died on the way, _exit reports the job lost
        return True

    def stop(self, job_id: str) -> None:
        """Ask the worker to stop the job between two batches; if it has not let go of the job
        NNLAB_STOP_GRACE_S seconds later (inside a long batch, loading data), end the process: it is
        replaced, and the job is reported stopped, not lost."""
        with self._lock:
            worker = next((w for w in self._workers if w.job_id == job_id), None)
        if worker is not None:
            worker.send({"op": "stop", "job": job_id})
            timer = threading.Timer(settings.get("NNLAB_STOP_GRACE_S"), self._end_if_busy, args=(worker, job_id))
            timer.daemon = True
            timer.start()

    def _end_if_busy(self, worker: Worker, job_id: str) -> None:
        with self._lock:
            if worker.job_id != job_id or worker.proc.poll() is not None:
                return  # it stopped in time (or died anyway)
            worker.stopping = job_id
        log.info("worker %d (pid %d) did not stop job %s within %.1f s: ending it", worker.index, worker.pid,
                 job_id[:8], settings.get("NNLAB_STOP_GRACE_S"))
        try:
            worker.proc.kill()
        except OSError:
            pass

    def workers(self) -> list[dict]:
        with self._lock:
            return [{"index": w.index, "pid": w.pid, "job": w.job_id, "alive": w.proc.poll() is None,
                     "ready": w.ready.is_set(), "gpu": w.gpu} for w in self._workers]

    def _message(self, worker: Worker, message: dict) -> None:
        job_id = message.get("job")
        if job_id is None:
            return
        if message.get("type") == "done":  # free before the news goes out: the next job can start here
            with self._lock:
                if worker.job_id == job_id:
                    worker.job_id = None
        self._on_message(job_id, message)

    def _exit(self, worker: Worker) -> None:
        reason = death_reason(worker.proc.returncode)
        with self._lock:
            lost, worker.job_id = worker.job_id, None
            stopped = lost is not None and worker.stopping == lost
            replace = not self._closed and worker in self._workers
            if replace:
                self.restarts += not stopped  # a worker ended by Stop did not die: the Server page counts deaths
                self._workers[self._workers.index(worker)] = self._spawn(worker.index)
        if replace and not stopped:
            log.warning("worker %d (pid %d) ended: %s; started a new one", worker.index, worker.pid, reason)
        if lost is not None:
            if stopped:
                self._on_lost(lost, reason, stopped=True)
            else:
                self._on_lost(lost, reason)
        self._on_idle()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._workers = list(self._workers), []
        for w in workers:
            if w.job_id is None and not w.ready.is_set():  # still importing torch: it holds nothing yet,
                w.proc.kill()                               # and waiting for it costs seconds per shutdown
                w.proc.wait()
            else:
                w.close()


class ThreadPool:
    """The jobs in threads of this process (`backend="thread"`), with the worker processes' interface:
    the same work (nets.server.worker.run_job), its messages and its outcome to `on_message`. Nothing
    is lost here (a crash takes the server with it), so `on_lost` is never called."""
    in_process = True  # the jobs share this process
    local_index = True  # they write the runs' index themselves
    restarts = 0

    def __init__(self, size: int, on_message, on_lost, on_idle, preload: tuple[str, ...] = ()):
        self.size, self._on_message = size, on_message
        self._lock = threading.Lock()
        self._stops: dict[str, threading.Event] = {}  # a stop can come before its thread starts
        self._cache = DataCache()  # the datasets of this process's jobs
        self._closed = False

    def start(self) -> None:
        """Nothing to start: a thread begins with its job."""

    def run(self, job_id: str, command: dict) -> bool:
        with self._lock:
            if self._closed:
                return False
            stop = self._stops.setdefault(job_id, threading.Event())
        threading.Thread(target=self._work, args=(job_id, command, stop), name=f"train-{job_id[:8]}",
                         daemon=True).start()
        return True

    def _work(self, job_id: str, command: dict, stop: threading.Event) -> None:
        outcome = run_job(command, lambda m: self._on_message(job_id, m), stop, self._cache)
        with self._lock:
            self._stops.pop(job_id, None)
        self._on_message(job_id, {"type": "done", **outcome})

    def stop(self, job_id: str) -> None:
        """The work stops between two steps (a thread cannot be ended from outside)."""
        with self._lock:
            self._stops.setdefault(job_id, threading.Event()).set()

    def workers(self) -> list[dict]:
        return []  # no processes: the Server page says "in-process"

    def close(self) -> None:
        with self._lock:
            self._closed = True
