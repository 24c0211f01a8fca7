"""Jobs on a Ray cluster: one queue for every web server, in a named actor on the head node.

With $NNLAB_RAY_ADDRESS set the app does not train on its own machine. The queue and the jobs'
state live in one detached actor (`JobsService`, "nnlab-jobs" in namespace "nnlab") holding an
ordinary JobManager with the "ray-tasks" backend (nets.server.ray_tasks: each job a Ray task with a GPU
and CPU request), so queue order, caps and owner rules are the ones nets.server.jobs states. Every web
server holds a `RayJobs`: the job service's interface (nets.server.service.JobService), each method a
call to the actor. Runs reach the web
servers through the checkpoints folder, which every node and web server mounts at the same path
(see the README). `ray` is imported only when used: the rest of the app runs without it.
"""
from __future__ import annotations

import os
import platform
import re
import socket
from pathlib import Path

from nets import settings
from nets.server.ray_tasks import default_max_running
from nets.server.service import answer, forwarding, wait_for

ACTOR_NAME, NAMESPACE = "nnlab-jobs", "nnlab"
HEAD = "node:__internal_head__"  # a resource only the head node has
INSTALL = "pip install -r requirements-ray.txt"
ROOT = Path(__file__).resolve().parent.parent.parent
# The app's code and bundled assets travel to the cluster with each web server's connection (Ray's
# working_dir, a few MB), so the jobs run the code the web servers run; runs and data do not.
SHIPPED = {"working_dir": str(ROOT),
           "excludes": [".git", ".venv*", "tests", "checkpoints", "data", "test-artifacts", "*.pyc"]}


class ClusterError(RuntimeError):
    """The cluster cannot be used as set up; the message says what to install or fix."""


def check_writable(checkpoints: str | Path) -> None:
    """Runs reach the web servers only through this folder: refuse to start without it."""
    path = Path(checkpoints)
    probe = path / f".nnlab-write-test-{platform.node()}-{os.getpid()}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_text("ok")
        probe.unlink()
    except OSError as e:
        raise ClusterError(f"The checkpoints folder {path} on {platform.node()} is not writable ({e.strerror or e}). "
                           "Every Ray node and web server must mount the same shared folder at the same path "
                           "(NNLAB_CHECKPOINTS), writable by the user that runs them.") from e


class JobsService:
    """The cluster's one queue: a JobManager whose jobs are Ray tasks. Run as a detached actor."""

    def __init__(self, checkpoints: str, data_dir: str | None, max_running: int | None, max_per_owner: int,
                 disk_budget_mb: int, cpus_per_job: float):
        import ray
        from nets.server.jobs import JobManager
        check_writable(checkpoints)  # on the actor's own node
        size = max_running or default_max_running(ray.cluster_resources(), cpus_per_job)
        self.manager = JobManager(checkpoints, data_dir, max_running=size, max_per_owner=max_per_owner,
                                  disk_budget_mb=disk_budget_mb, backend="ray-tasks")
        self.manager.pool.cpus_per_job = cpus_per_job

    def settings(self) -> dict:
        m = self.manager
        return {"checkpoints": str(m.checkpoints), "max_running": m.max_running, "node": platform.node()}

    def report(self, job_id: str, batch: list[dict]) -> bool:
        return self.manager.pool.report(job_id, batch)

    def call(self, method: str, *args, **kwargs):
        """A method of the job service's interface, as JobManager answers it (nets.server.service.answer)."""
        return answer(self.manager, method, args, kwargs)

    def close(self) -> None:
        self.manager.close()


# ------------------------------------------------------------------------------ in each web server
def unreachable(address: str, timeout: float = 5.0) -> str:
    """'host:port (why)' when nothing answers where `address` points, else '' (ray.init would wait
    minutes for a head that is not there)."""
    target = address.removeprefix("ray://")
    if target == "auto":  # RAY_ADDRESS, or the cluster last started on this machine
        try:
            from ray._private.services import canonicalize_bootstrap_address
            target = canonicalize_bootstrap_address("auto") or ""
        except Exception:  # none at all (ray.init says so at once), or another Ray version
            return ""
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        return ""
    try:
        socket.create_connection((host, int(port)), timeout).close()
    except OSError as e:
        return f"{target} ({e.strerror or e})"
    return ""


def connect(address: str) -> None:
    """Join the Ray cluster at `address` once per process ("auto", "host:6379" or "ray://host:10001")."""
    try:
        import ray
    except ImportError as e:
        raise ClusterError(f"NNLAB_RAY_ADDRESS is set to {address!r} but the ray package is not installed here: "
                           f"{INSTALL}") from e
    if ray.is_initialized():
        return
    if down := unreachable(address):
        raise ClusterError(f"Nothing answers at {down}, where NNLAB_RAY_ADDRESS={address!r} points. Start the "
                           "cluster with `ray start --head` (see the README), or unset NNLAB_RAY_ADDRESS to train "
                           "on this machine.")
    try:
        ray.init(address=address, namespace=NAMESPACE, runtime_env=SHIPPED, log_to_driver=False,
                 logging_level="WARNING")
    except Exception as e:  # ConnectionError, a missing grpcio for ray://, a bad address, no token
        chain, cause = [], e
        while cause is not None and len(chain) < 8:
            chain.append(f"{type(cause).__name__}: {cause}")
            cause = cause.__cause__ or cause.__context__
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "InvalidAuthToken" in "\n".join(chain) or "timeout" in first:
            first += (". A cluster with token authentication (on by default in recent Ray) needs RAY_AUTH_MODE=token "
                      "here and its token: `ray get-auth-token` on the head, into ~/.ray/auth_token or RAY_AUTH_TOKEN")
        raise ClusterError(f"Could not join the Ray cluster at NNLAB_RAY_ADDRESS={address!r}: {first}. Start it "
                           "with `ray start --head` (see the README), or unset NNLAB_RAY_ADDRESS to train on this "
                           "machine.") from e


@forwarding
class RayJobs:
    """The cluster's queue as this web server sees it: the job service's interface (nets.server.service.
    JobService), each method a call to the job service actor (created by the first server that asks,
    found by the others), `wait` and `close` here."""

    def __init__(self, checkpoints: str | Path, data_dir: str | Path | None = None, max_running: int | None = None,
                 max_per_owner: int = 1, disk_budget_mb: int = 0, cpus_per_job: float = 1.0,
                 name: str = ACTOR_NAME):
        import ray
        check_writable(checkpoints)
        # absolute: the service and the tasks run elsewhere, in a copy of the code (SHIPPED)
        self.checkpoints, self.name = Path(checkpoints).resolve(), name
        self._args = (str(self.checkpoints), None if data_dir is None else str(Path(data_dir).resolve()), max_running,
                      max_per_owner, disk_budget_mb, cpus_per_job)
        self._service = self._find()
        try:
            self.settings = ray.get(self._service.settings.remote())
        except ray.exceptions.RayActorError as e:  # its __init__ failed on the actor's node
            last = [line for line in str(e).splitlines() if line.strip()][-1]
            raise ClusterError("The cluster's job service could not start: "
                               + re.sub(r"^[\w.]*(Error|Exception): ", "", last)) from e
        if Path(self.settings["checkpoints"]) != self.checkpoints:
            raise ClusterError(f"The cluster's job service saves runs in {self.settings['checkpoints']}, but this "
                               f"web server reads {self.checkpoints}: set NNLAB_CHECKPOINTS to the shared folder "
                               "(the same path on every machine).")

    def _find(self):
        import ray
        return (ray.remote(JobsService)
                .options(name=self.name, namespace=NAMESPACE, lifetime="detached", get_if_exists=True,
                         num_cpus=0, max_concurrency=64, max_restarts=0,
                         resources={HEAD: 0.001})  # on the head: a lost worker node takes only its jobs
                .remote(*self._args))

    def _get(self, ref):
        import ray
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as e:  # a ConfigError and the like: the original, for the page
            raise e.cause from None

    def _call(self, method: str, *args, **kwargs):
        import ray
        try:
            return self._get(self._service.call.remote(method, *args, **kwargs))
        except ray.exceptions.RayActorError:  # the service died (ray kill): a fresh, empty one
            self._service = self._find()
            return self._get(self._service.call.remote(method, *args, **kwargs))

    def wait(self, job_id: str, timeout: float = 60.0):
        return wait_for(self, job_id, timeout)

    def close(self) -> None:
        """This web server lets go; the queue and its jobs carry on for the others."""

    def shutdown(self) -> None:
        """Stop every job and end the job service (tests; an administrator upgrading the app)."""
        import ray
        try:
            ray.get(self._service.close.remote())
        finally:
            ray.kill(self._service)


def main(argv=None) -> None:
    """`python -m nets ray status|shutdown`: the cluster's queue, for its administrator."""
    import argparse
    ap = argparse.ArgumentParser(prog="python -m nets ray", description=main.__doc__)
    ap.add_argument("command", choices=("status", "shutdown"),
                    help="status: settings, jobs and tasks; shutdown: stop every job and end the queue "
                         "(before an upgrade: the next web server starts a new one with the new code)")
    ap.add_argument("--address", default=settings.get("NNLAB_RAY_ADDRESS") or "auto")
    args = ap.parse_args(argv)
    try:
        connect(args.address)
    except ClusterError as e:
        raise SystemExit(str(e)) from None
    import ray
    try:
        service = ray.get_actor(ACTOR_NAME, namespace=NAMESPACE)
    except ValueError:
        print("No job service runs on this cluster (the first web server starts it).")
        return
    if args.command == "shutdown":
        ray.get(service.close.remote())
        ray.kill(service)
        print("Every job stopped and the job service ended.")
        return
    print(ray.get(service.settings.remote()))
    for v in ray.get(service.call.remote("views")):
        print(f"{v.status:13s} {getattr(v, 'owner', '') or '-':24s} {v.label}")
    for w in ray.get(service.call.remote("workers")):
        print(f"task of {w['job'][:8]} on {w['node'] or '(starting)'} pid {w['pid']} {w['resources']}")
