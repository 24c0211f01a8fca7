"""A shared job queue for tests: nets.server.shared_jobs' daemon in a thread of this process, and a client."""
from __future__ import annotations

import secrets
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

from nets.server.jobs import JobManager
from nets.server.shared_jobs import SharedJobs, serve_jobs


@contextmanager
def shared_queue(ckpt, **manager_args):
    """(a SharedJobs client, the JobManager behind it); both closed afterwards."""
    manager = JobManager(ckpt, **manager_args)
    key = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="nnlab-q-") as folder:  # a Unix socket's path must be short
        socket = Path(folder) / "jobs.sock"
        stop = threading.Event()
        thread = threading.Thread(target=serve_jobs, args=(manager, socket, key, stop), daemon=True)
        thread.start()
        client = None
        try:
            client = SharedJobs(socket, key, ckpt)
            yield client, manager
        finally:
            if client is not None:
                client.close()
            stop.set()
            thread.join(10)
            manager.close()
