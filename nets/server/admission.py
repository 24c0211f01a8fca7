"""Whether the job service takes a job: its work may run (for training: the config trains, reads only
its owner's data and fits the budget of one job, nets.server.budget), its owner is within their queued
jobs and disk quota and the server within its disk budget. A mixin of nets.server.jobs.JobManager;
refusals are JobRefused."""
from __future__ import annotations

from nets.engine.catalog import FOLDER, FolderError, folder_inside
from nets.engine.config import ConfigError, TrainConfig, validate
from nets.runs import disk_budget_problem, owner_usage
from nets.runs.access import Access
from nets.server.budget import (Limits, cost_problem, current, queue_problem, quota_problem,
                                read_settings, save_settings)
from nets.server.costs import estimate
from nets.server.identity import LECTURER
from nets.server.upload import folder_refusal
from nets.status import ACTIVE
from nets.work import JobRefused


def exempt(owner: str) -> bool:
    """Owners the per-student limits do not bind: the lecturer, and the server itself (scripts)."""
    return owner in ("", LECTURER)


class Admission:
    """JobManager's checks; it provides checkpoints, data_dir, max_running, disk_budget (bytes),
    budget_overrides and _jobs."""

    def _check(self, works: list, owner: str) -> None:
        """Every work may run (its own check, which asks this service: for training the one validation of
        its config, the folder rule and the budget of one job); works that save runs need the server's
        disk budget and the owner's quota."""
        for work in works:
            work.check(self)
        if not any(w.run_id for w in works):
            return
        if problem := disk_budget_problem(self.checkpoints, self.disk_budget):
            raise JobRefused(problem)
        if not exempt(owner) and (problem := quota_problem(owner_usage(self.checkpoints, owner),
                                                           self.budget().disk_quota_mb)):
            raise JobRefused(problem)

    def _admit(self, owner: str, adding: int, refusal=JobRefused) -> None:
        """Refuse what would take an owner over their queued + running jobs (the caller holds the lock)."""
        if exempt(owner):
            return
        active = sum(j.owner == owner and j.status in ACTIVE for j in self._jobs.values())
        if problem := queue_problem(active, adding, self.budget().queue_per_student):
            raise refusal(problem)

    # ---------------------------------------------------------------- the budget
    def budget(self) -> Limits:
        """The limits in force (nets.server.budget: the machine's, $NNLAB_BUDGET_*, the lecturer's)."""
        return current(self.checkpoints, self.max_running, self.disk_budget // 2**20, self.budget_overrides)

    def set_budget(self, values: dict, who: Access | None = None) -> Limits:
        """The lecturer's limits, saved under the checkpoints folder (None: the server itself; on a
        single-user laptop its one user)."""
        if who is not None and not who.everything:
            raise JobRefused("Only the lecturer sets the server's budget.")
        save_settings(self.checkpoints, {**read_settings(self.checkpoints), **values})
        return self.budget()

    def folder_problem(self, folder: str, owner: str) -> str | None:
        """Why `owner` may not train on this folder of the data root (another student's upload, or a folder
        outside it: nets.server.upload's one rule), or None."""
        return folder_refusal(self.data_dir, folder, owner)

    def budget_problem(self, cfg: TrainConfig) -> str | None:
        """Why this config is over the budget of one job (or its cost cannot be estimated), or None (also
        None for a config that does not train at all: validate() says why). The Train page asks before
        it offers Train."""
        folder = None
        if cfg.dataset == FOLDER:
            try:
                folder = folder_inside(self.data_dir, cfg.folder)
            except FolderError:
                return None
        try:
            cost = estimate(cfg, folder, jobs=self.max_running)
        except Exception:  # noqa: BLE001
            try:
                validate(cfg, data_root=self.data_dir)
            except ConfigError:
                return None  # it does not train at all: validate() says why, on the page and at submit
            # it would train, but its cost is unknown: never let it past the budget unchecked
            return ("The cost of this network could not be estimated, so it cannot be checked against the "
                    "budget of one job: it is not queued.")
        return cost_problem(cost, self.budget())
