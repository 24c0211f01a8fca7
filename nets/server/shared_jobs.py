"""One job queue for several web processes on one machine: a daemon holding the JobManager, and its clients.

`python -m nets serve --procs N` (nets.server.web) starts N Streamlit processes behind nginx; they must
share one queue, one set of caps and one fair order, and only one process may recover the runs a killed
server left "running". So the jobs live in one more process, `python -m nets jobs` (`serve_jobs`): an
ordinary JobManager (workers, queue, owner rules: nets.server.jobs) answering calls on a Unix socket.
Each web process holds a `SharedJobs` (the job service's interface, nets.server.service.JobService),
each method a call to it; who is asking (an Access) travels with the call and is checked there, as in
one process. The socket is the owner's alone (0600) and every connection proves it knows the launch's
random key (multiprocessing.connection's HMAC handshake) before anything is read from it.
"""
from __future__ import annotations

import argparse
import logging
import os
import queue
import signal
import socket
import threading
import time
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Listener
from pathlib import Path

import torch

from nets import settings
from nets.engine.catalog import default_data_dir
from nets.server.jobs import JobManager
from nets.server.service import answer, forwarding, wait_for

log = logging.getLogger("nnlab.jobs")
STARTING_S = 30.0  # a web process started with the queue waits this long for it to listen
REPLY_S = 60.0  # the longest a call waits for the queue's answer (a submit reads the index; seconds at most)


class QueueDown(RuntimeError):
    """The shared queue does not answer; the message says what to do."""


def local_settings() -> dict:
    """This machine's job service as the settings (nets.settings) describe it, as JobManager's arguments:
    one per machine, in the app's own process (one web process) or in the shared queue's (several)."""
    get = settings.get
    return dict(checkpoints=str(get("NNLAB_CHECKPOINTS")), data_dir=str(default_data_dir()),
                max_running=get("NNLAB_MAX_JOBS") or (2 if torch.cuda.is_available() else 1),
                max_per_owner=get("NNLAB_JOBS_PER_SESSION"), disk_budget_mb=get("NNLAB_DISK_BUDGET_MB"),
                backend=get("NNLAB_JOB_BACKEND"))


def key_bytes(key: str) -> bytes:
    if len(key) < 32:
        raise QueueDown("NNLAB_JOBS_KEY must be the launch's random key (32 hex digits or more); "
                        "start the app with `python -m nets serve`.")
    return key.encode()


# ------------------------------------------------------------------------------ the daemon
def serve_jobs(manager: JobManager, socket_path: str | Path, key: str, stop: threading.Event) -> None:
    """Answer the web processes' calls on `socket_path` until `stop` is set; a thread per connection."""
    path = Path(socket_path)
    path.unlink(missing_ok=True)  # a killed daemon's socket
    old = os.umask(0o177)  # the socket is created 0600: only this user may even try the key
    try:
        listener = Listener(str(path), family="AF_UNIX", authkey=key_bytes(key), backlog=128)
    finally:
        os.umask(old)
    log.info("shared job queue listening on %s", path)
    threading.Thread(target=_wake_on, args=(stop, path), daemon=True).start()
    with listener:
        while not stop.is_set():
            try:
                conn = listener.accept()
            except Exception as e:  # a wrong key (AuthenticationError), a client gone mid-handshake
                if not stop.is_set():
                    log.warning("shared queue: a connection was refused (%s)", type(e).__name__)
                continue
            threading.Thread(target=_answer_calls, args=(manager, conn), daemon=True).start()
    path.unlink(missing_ok=True)


def _wake_on(stop: threading.Event, path: Path) -> None:
    """Closing a listening socket does not wake a thread in accept(): a bare connection, once stopped, does."""
    stop.wait()
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(str(path))
        except OSError:
            pass


def _answer_calls(manager: JobManager, conn) -> None:
    with conn:
        while True:
            try:
                method, args, kwargs = conn.recv()
            except (EOFError, OSError):
                return
            try:
                reply = ("ok", answer(manager, method, args, kwargs))
            except Exception as e:  # a refusal (JobRefused, ConfigError) goes back to the page that asked
                reply = ("error", e)
            try:
                conn.send(reply)
            except (OSError, ValueError):
                return
            except Exception as e:  # an answer that cannot be sent (unpicklable): the caller hears why
                conn.send(("error", RuntimeError(f"the job queue could not send its answer: {e}")))


def main(argv=None) -> None:
    """`python -m nets jobs --socket PATH`: the shared job queue (started by `python -m nets serve`)."""
    ap = argparse.ArgumentParser(prog="python -m nets jobs", description=main.__doc__)
    ap.add_argument("--socket", default=settings.get("NNLAB_JOBS_SOCKET"),
                    help="the Unix socket to answer on (default $NNLAB_JOBS_SOCKET)")
    args = ap.parse_args(argv)
    key = settings.get("NNLAB_JOBS_KEY")
    if not args.socket or not key:
        raise SystemExit("Give --socket (or NNLAB_JOBS_SOCKET) and set NNLAB_JOBS_KEY to the launch's random key "
                         "(python -m nets serve does both).")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    manager = JobManager(**{**local_settings(), "backend": "process"})
    manager.pool.start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        serve_jobs(manager, args.socket, key, stop)
    finally:
        manager.close()  # running jobs stop and keep their best model; the next daemon recovers the rest


# ------------------------------------------------------------------------------ in each web process
@forwarding
class SharedJobs:
    """The shared queue as one web process sees it: every interface method a call to the daemon
    (nets.server.service.forwarding), over a few reused connections (every session is a thread)."""

    def __init__(self, socket_path: str | Path, key: str, checkpoints: str | Path):
        self.socket_path, self._key, self.checkpoints = str(socket_path), key_bytes(key), Path(checkpoints)
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._idle.put(self._connect(STARTING_S))  # refuse to start without it: the page says what to do

    def _connect(self, patience: float = 0.0):
        """A new connection; `patience`: seconds to wait for a queue that is starting beside this process."""
        deadline = time.monotonic() + patience
        while True:
            try:
                return Client(self.socket_path, family="AF_UNIX", authkey=self._key)
            except AuthenticationError as e:
                raise QueueDown("The app's job queue refused this process's key: start every app process "
                                "with `python -m nets serve`, which gives them the queue's key.") from e
            except (OSError, EOFError) as e:
                if time.monotonic() < deadline and isinstance(e, (FileNotFoundError, ConnectionRefusedError)):
                    time.sleep(0.1)
                    continue
                raise QueueDown(f"The app's job queue does not answer ({e.__class__.__name__}). It runs beside "
                                "the web processes: restart the app with `python -m nets serve`.") from e

    def _call(self, method: str, *args, **kwargs):
        for attempt in (0, 1):  # a connection the daemon closed (it restarted) is replaced once
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self._connect()
            try:
                conn.send((method, args, kwargs))
                if not conn.poll(REPLY_S):
                    conn.close()
                    raise QueueDown(f"The app's job queue did not answer within {REPLY_S:.0f} s; try again.")
                status, value = conn.recv()
            except (OSError, EOFError):
                conn.close()
                if attempt:
                    raise QueueDown("The app's job queue stopped answering: restart the app with "
                                    "`python -m nets serve`.") from None
                continue
            self._idle.put(conn)
            if status == "error":
                raise value
            return value

    def wait(self, job_id: str, timeout: float = 60.0):
        return wait_for(self, job_id, timeout)

    def in_process(self) -> bool:
        """Never: the jobs run in the queue's process (its workers), not in this web process."""
        return False

    def close(self) -> None:
        """This web process lets go; the queue and its jobs carry on for the others."""
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
