"""Who may do what with a run, on a shared classroom server.

A run belongs to the browser session that trained it. A student sees their own runs, the runs the
lecturer has shared, and runs made outside the app (the command line, the shipped example); they
may rename or delete only their own. The lecturer (unlocked with the password from Streamlit
secrets) may do everything and shares runs with the class. With no password configured the app is
single-user, as on a laptop: everything is allowed.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class Access:
    owner: str          # this browser session's id
    lecturer: bool      # unlocked with the password
    single_user: bool   # no password configured

    @property
    def everything(self) -> bool:
        return self.single_user or self.lecturer

    def can_view(self, info: dict) -> bool:
        owner = info.get("owner")
        return self.everything or not owner or owner == self.owner or bool(info.get("shared"))

    def can_modify(self, info: dict) -> bool:
        return self.everything or (bool(info.get("owner")) and info.get("owner") == self.owner)

    def why_not(self, info: dict) -> str:
        return ("Only the student who trained this run, or the lecturer, can rename or delete it."
                if not self.can_modify(info) else "")


def password_matches(given: str, expected: str) -> bool:
    """Constant-time comparison, so the time taken does not leak how much of a guess was right."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
