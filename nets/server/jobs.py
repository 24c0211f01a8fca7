"""The server's one job service (submit, view, stop, list): jobs that outlive a page, whatever work they run.

A job runs a work (nets.work.Work: training, the NumPy lab, ...); the service never asks which.
The Streamlit page submits a job and then only reads snapshots; the work never touches Streamlit.
In the app it runs in worker processes (`backend="process"`: nets.server.pool, nets.server.worker), so the web
server's pages do not wait on training for the GIL and a crashed job takes nothing else with it;
`backend="thread"` (scripts, tests) runs it in a thread of this process, `"ray-tasks"` in Ray tasks
(nets.server.ray_tasks); each is a pool with the same interface. Either way the job's messages are
applied here, and everything a page needs is copied out under the job's lock, so a poll costs
microseconds. A cap on running jobs turns the rest into a queue; who may see and stop a job is decided
here (`allowed`), not in the pages.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path

from nets.runs import CheckpointError, get_run, index, recover
from nets.runs.access import Access
from nets.server.admission import Admission
from nets.server.fair import start_order
from nets.server.job import Job
from nets.server.service import wait_for
from nets.server.waits import Durations, estimate_s, key_of, queue_places
from nets.status import ACTIVE, SUCCEEDED, Status
from nets.work import JobFields, JobRefused, Work
from nets.works import WORKS

log = logging.getLogger("nnlab.jobs")
BACKENDS = ("process", "thread", "ray-tasks")  # ray-tasks: inside the cluster's job service (nets.server.ray_jobs)


def allowed(who: Access | None, owner: str) -> bool:
    """The one rule for seeing and stopping jobs; None is the server itself (tests, scripts)."""
    return who is None or who.can_control_job(owner)


class JobManager(Admission):
    """The server's jobs. One instance per server process (the app keeps it in st.cache_resource).
    `works`: the work classes by kind (nets.works.WORKS: what submit and submit_lab build), and any other
    work a caller hands to submit_works runs too: the service never asks which it is."""

    def __init__(self, checkpoints: str | Path, data_dir: str | Path | None = None, max_running: int = 1,
                 keep_finished: int = 50, max_per_owner: int = 1, disk_budget_mb: int = 0,
                 backend: str = "thread", budget: dict | None = None, works: dict | None = None):
        if backend not in BACKENDS:
            raise ValueError(f"backend {backend!r} is not one of {', '.join(BACKENDS)}")
        self.checkpoints, self.data_dir, self.backend = Path(checkpoints), data_dir, backend
        self.max_running, self.keep_finished = max_running, keep_finished
        self.max_per_owner, self.disk_budget = max_per_owner, disk_budget_mb * 2**20
        self.budget_overrides = dict(budget or {})  # over the machine's, the environment's and the lecturer's
        self.works = {**WORKS, **(works or {})}
        self._last_start: dict[str, int] = {}  # owner: the counter at their latest start (fair order)
        self._starts = 0
        # A server that was killed left its runs 'running' (they are interrupted, not running), perhaps
        # half-written files, and an index that may miss its last changes (nets.runs.recovery).
        self.recovered = recover(self.checkpoints).interrupted
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self.durations = Durations()  # what jobs took here: each queued job's expected wait
        if backend == "process":
            from nets.server.pool import ProcessPool as Pool
        elif backend == "ray-tasks":  # each job a Ray task
            from nets.server.ray_tasks import RayTaskPool as Pool
        else:
            from nets.server.pool import ThreadPool as Pool
        modules = {w.__module__ for w in self.works.values()}
        self.pool = Pool(max_running, self._message, self._lost, self._start_queued, tuple(sorted(modules)))

    # ---------------------------------------------------------------- submitting and controlling
    def _work(self, name: str, *args, **kwargs) -> Work:
        return self.works[name](*args, **kwargs)

    def submit(self, cfg, owner: str = "", group: str = "", saved: list[str] | None = None) -> Job:
        """Queue a training job (a TrainConfig); `saved`: the saved runs' names when the caller has read
        them already. A config that cannot train, or that this owner may not queue now, is refused here,
        in the caller's thread (ConfigError; JobRefused for a budget or a limit, with the reason)."""
        return self.submit_works([self._train(cfg, owner, group)], owner, group, saved)[0]

    def submit_group(self, cfgs, owner: str = "", name: str = "") -> list[Job]:
        """Several configurations queued together (all of them or, refused, none)."""
        group = name or uuid.uuid4().hex[:8]
        return self.submit_works([self._train(cfg, owner, group) for cfg in cfgs], owner, group)

    def _train(self, cfg, owner: str, group: str) -> Work:
        data_dir = None if self.data_dir is None else str(self.data_dir)
        return self._work("train", cfg, str(self.checkpoints), data_dir, owner, group, self.disk_budget)

    def submit_lab(self, settings, owner: str = "") -> Job:
        """A NumPy-lab run (LabSettings, nets.scratch.lab) as a job: the same queue, cap and owner rules as
        training. Bad settings are refused here, in the caller's thread (ScratchError; LabRefused,
        which is also a JobRefused, over a student's limit)."""
        work = self._work("lab", settings, None if self.data_dir is None else str(self.data_dir))
        return self.submit_works([work], owner)[0]

    def submit_works(self, works: list[Work], owner: str = "", group: str = "",
                     saved: list[str] | None = None) -> list[Job]:
        """Queue works of any kind (nets.work.Work), all of them or, refused at the door
        (nets.server.admission), none; each under a name apart from the saved runs' and the jobs'."""
        self._check(works, owner)
        if saved is None and any(w.run_id for w in works):
            saved = self._saved_names()  # every run.json read once
        with self._lock:
            self._admit(owner, len(works), works[0].refusal if works else JobRefused)
            jobs = []
            for work in works:
                taken = (saved or []) + [j.label() for j in self._jobs.values()]
                jobs.append(Job(work.unique(taken), group, owner))
                self._enqueue(jobs[-1])
        self._start_queued()
        return jobs

    def stop(self, job_id: str, who: Access | None = None) -> bool:
        """Stop a running job (it keeps its best model) or cancel a queued one. Only its owner or the
        lecturer may (`who`; None: the server itself). Returns whether the request was taken."""
        job = self.get(job_id)
        if job is None or not allowed(who, job.owner):
            return False
        with self._lock:
            if job.status == Status.QUEUED:
                job.status, job.ended = Status.CANCELLED, time.time()
                return True
            running = job.status == Status.RUNNING
        if running:  # it stops between two steps; a worker that does not let go is ended
            self.pool.stop(job.id)
        return True

    def stop_group(self, group: str, who: Access | None = None) -> None:
        for v in self.views(who, group=group):
            if v.active:
                self.stop(v.id, who)

    # ---------------------------------------------------------------- reading
    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def view(self, job_id: str, who: Access | None = None) -> JobFields | None:
        """The job's state (its work's view: nets.training_work.JobView, nets.scratch.lab.LabView, ...),
        or None when there is no such job or `who` may not see it."""
        job = self.get(job_id)
        if job is None or not allowed(who, job.owner):
            return None
        with self._lock:
            place = self._places().get(job.id, (None, None))
        return job.view(*place)

    def views(self, who: Access | None = None, group: str | None = None) -> list[JobFields]:
        """Every job `who` may see (all of them for None, the server itself), oldest first."""
        with self._lock:
            jobs = list(self._jobs.values())
            places = self._places()
        return [j.view(*places.get(j.id, (None, None))) for j in jobs
                if (group is None or j.group == group) and allowed(who, j.owner)]

    def overview(self, who: Access | None) -> list[JobFields]:
        """Every job, for the server view of the lecturer (or of a single-user laptop's owner);
        nothing for a student."""
        return self.views() if who is None or who.everything else []

    def running_count(self) -> int:
        with self._lock:
            return sum(j.status == Status.RUNNING for j in self._jobs.values())

    def wait(self, job_id: str, timeout: float = 60.0) -> JobFields:
        return wait_for(self, job_id, timeout)

    def workers(self) -> list[dict]:
        """The worker processes or Ray tasks (index, pid, job, alive), for the lecturer's view; none in threads."""
        return self.pool.workers()

    def in_process(self) -> bool:
        """Whether jobs run in threads of this process (the Server page says so instead of counting workers)."""
        return self.pool.in_process

    def restarts(self) -> int:
        """Worker processes that died and were replaced (a Stop's are not counted)."""
        return self.pool.restarts

    def close(self) -> None:
        """Stop every job and the workers (tests, and a server shutting down)."""
        for v in self.views():
            if v.active:
                self.stop(v.id)
        self.pool.close()

    # ---------------------------------------------------------------- internals
    def _places(self) -> dict[str, tuple[int, float]]:
        """Each queued job's place in the start order (1: next) and the seconds until it is expected to start
        (nets.server.waits); the caller holds the lock."""
        running = [j for j in self._jobs.values() if j.status == Status.RUNNING]
        return queue_places(self._order(), running, self.max_running, self.durations, time.time())

    def _order(self) -> list[Job]:
        """Queued jobs in the order they will start: round-robin across owners (nets.server.fair);
        the caller holds the lock."""
        running: dict[str, int] = {}
        for j in self._jobs.values():
            if j.status == Status.RUNNING:
                running[j.owner] = running.get(j.owner, 0) + 1
        return start_order([j for j in self._jobs.values() if j.status == Status.QUEUED], running, self._last_start)

    def _saved_names(self) -> list[str]:
        return index(self.checkpoints).names()

    def _enqueue(self, job: Job) -> None:
        """Enter a job in the queue (the caller holds the lock)."""
        log.info("job %s submitted by %s: %s", job.id[:8], job.owner or "-", job.label())
        job.estimated, job.key = estimate_s(job.work, self.max_running), key_of(job.work)
        self._jobs[job.id] = job
        self._trim()

    def _trim(self) -> None:
        finished = [k for k, j in self._jobs.items() if j.status not in ACTIVE]
        for k in finished[:max(0, len(finished) - self.keep_finished)]:
            del self._jobs[k]

    def _start_queued(self) -> None:
        """Start queued jobs while there is room, in the fair order: the owner with the fewest running
        jobs, then the one who started one least recently; an owner with their share running waits."""
        with self._lock:
            running = [j for j in self._jobs.values() if j.status == Status.RUNNING]
            per_owner: dict[str, int] = {}
            for j in running:
                per_owner[j.owner] = per_owner.get(j.owner, 0) + 1
            to_start = []
            for job in self._order():
                if len(running) + len(to_start) >= self.max_running:
                    break
                if job.owner and per_owner.get(job.owner, 0) >= self.max_per_owner:
                    continue
                per_owner[job.owner] = per_owner.get(job.owner, 0) + 1
                to_start.append(job)
            turns = {}  # each owner's turn before these starts, given back to a job that cannot start yet
            for job in to_start:
                job.status, job.started = Status.RUNNING, time.time()
                turns.setdefault(job.owner, self._last_start.get(job.owner))
                self._starts += 1
                self._last_start[job.owner] = self._starts
        for job in to_start:
            if not self.pool.run(job.id, job.work.spec()):
                with self._lock:  # no worker free yet (one is restarting): back in the queue, its turn kept
                    job.status, job.started = Status.QUEUED, None
                    if turns.get(job.owner) is None:
                        self._last_start.pop(job.owner, None)
                    else:
                        self._last_start[job.owner] = turns[job.owner]

    def _finish(self, job_id: str, outcome: dict) -> None:
        job = self.get(job_id)
        if job is not None:
            if outcome.get("error"):
                log.warning("job %s failed: %s%s", job_id[:8], outcome["error"],
                            "\n" + outcome["error_details"] if outcome.get("error_details") else "")
            self._refresh_row(job.run_id)  # before anyone waiting on the job can look at the index
            # status, summary and end together
            job._set(ended=time.time(), phase=None, phase_fraction=None, **outcome)
            if job.started and outcome.get("status") in SUCCEEDED:
                with self._lock:
                    self.durations.finished(job.key, job.ended - job.started, job.estimated)
        self._start_queued()

    def _refresh_row(self, run_id: str | None) -> None:
        """The run's index row read again from its folder: a Ray task on another machine writes the
        shared folder but not the index (NNLAB_INDEX_WRITES=0 there), and this server's index must
        see the result."""
        if run_id:
            try:
                index(self.checkpoints).put(get_run(self.checkpoints, run_id).row())
            except CheckpointError:
                pass  # a job that failed before its run was created

    def _message(self, job_id: str, message: dict) -> None:
        """A worker's message about one of our jobs."""
        if message.get("type") == "done":
            fields = {k: message[k] for k in ("status", "summary", "error", "error_details") if k in message}
            self._finish(job_id, fields)
        else:
            job = self.get(job_id)
            if job is not None:
                job.apply(message)
                if message.get("saved") and not self.pool.local_index:
                    self._refresh_row(job.run_id)  # the task may run on a machine without the index

    def _lost(self, job_id: str, reason: str, stopped: bool = False) -> None:
        """The worker running this job died: the job failed, and so did what its work saves. `stopped`:
        it was ended because a Stop did not take effect in time; the job is stopped, and its work keeps
        what it saved so far (nets.work.Work.lost)."""
        error = (f"The worker training this job stopped: {reason}. The server and the other jobs go on; "
                 "train it again, perhaps with a smaller batch or model.")
        job = self.get(job_id)
        if job is None:
            self._finish(job_id, {"status": Status.STOPPED} if stopped else {"status": Status.FAILED, "error": error})
            return
        self._finish(job_id, job.work.lost(error, stopped))
