"""Who may do what with a run, on a shared classroom server.

A run belongs to the identity that trained it (nets.server.identity: a student's name, a login, or a
laptop tab's id). A student sees their own runs, the runs the lecturer has shared, and runs made
outside the app (the command line, the shipped example); they may rename or delete only their own.
The lecturer (the password from Streamlit secrets, or a login the secrets name) may do everything
and shares runs with the class. Only a laptop (none of [auth], class_code, lecturer_password in the
secrets: nets.server.identity.Settings.shared is false) is single-user: every run is open, but jobs
stay their owner's. Every page that lists runs or jobs asks these rules.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class Access:
    owner: str          # this session's identity (nets.server.identity); '' before a student signs in
    lecturer: bool      # lecturer mode (the password, or a named login)
    single_user: bool   # a laptop: no [auth], class_code or lecturer_password

    @property
    def everything(self) -> bool:
        return self.single_user or self.lecturer

    def can_view(self, info: dict) -> bool:
        owner = info.get("owner")
        return self.everything or not owner or owner == self.owner or bool(info.get("shared"))

    def can_modify(self, info: dict) -> bool:
        return self.everything or (bool(info.get("owner")) and info.get("owner") == self.owner)

    def can_control_job(self, job_owner: str) -> bool:
        """Jobs are personal even on a single-user laptop: only their owner, or the lecturer, sees,
        shows or stops them (a second tab is another student in a classroom)."""
        return self.lecturer or (bool(job_owner) and job_owner == self.owner)

    def why_not(self, info: dict) -> str:
        return ("Only the student who trained this run, or the lecturer, can rename, star or delete it."
                if not self.can_modify(info) else "")


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison, so the time taken does not leak how much of a guess was right."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


# The server itself and the lecturer's command line (python -m nets runs): every run, every job.
ADMIN = Access(owner="", lecturer=True, single_user=True)
