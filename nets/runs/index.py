"""The runs index: one SQLite row per run folder, so lists, filters and access rules never read
every `run.json`.

The folders stay the record; the index is a cache of what lists need, written in the same step as
a run's files (nets.runs.folder) and rebuilt from the folders when it is missing, corrupt, of an
older schema, or on request (`python -m nets runs rebuild`). WAL mode lets several app and worker
processes on one machine read while one writes.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Iterable

from nets.files import in_transaction
from nets.runs.rows import COLUMNS, ORDERS, PAGE_SIZE, RunFilter, RunRow, where

INDEX_FILE = "index.sqlite"
SCHEMA_VERSION = 2
_TYPES = {"shared": "INTEGER", "starred": "INTEGER", "accuracy": "REAL", "best_epoch": "INTEGER",
          "params": "INTEGER", "seconds": "REAL", "has_model": "INTEGER", "images": "INTEGER",
          "bytes": "INTEGER", "pid": "INTEGER"}
_SCHEMA = ("CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, "
           + ", ".join(f"{c} {_TYPES.get(c, 'TEXT')}" for c in COLUMNS[1:]) + ")")
_INDEXES = ["CREATE INDEX IF NOT EXISTS runs_created ON runs (created)",
            "CREATE INDEX IF NOT EXISTS runs_owner ON runs (owner, created)",
            "CREATE INDEX IF NOT EXISTS runs_status ON runs (status)",
            "CREATE INDEX IF NOT EXISTS runs_dataset ON runs (dataset)",
            "CREATE INDEX IF NOT EXISTS runs_model ON runs (model)"]
_SELECT = ", ".join(COLUMNS)
_INSERT = f"INSERT OR REPLACE INTO runs ({_SELECT}) VALUES ({', '.join('?' * len(COLUMNS))})"


class RunIndex:
    """The index of one checkpoints folder. Cheap to create: a connection per call, so any thread
    or process may use it."""

    _ready: set[str] = set()         # index files this process has checked (and built if needed)
    _ready_lock = threading.Lock()

    def __init__(self, root: Path | str, rebuild_from=None):
        self.root = Path(root)
        self.path = self.root / INDEX_FILE
        # rebuild_from(root) -> iterable of RunRow: the folders' truth (nets.runs.folder.scan_rows)
        self._rebuild_from = rebuild_from

    # ------------------------------------------------------------------ connection
    def _run(self, work, write: bool = False):
        """`work(db)` on a fresh connection (in one transaction when writing). An index found
        corrupt or emptied meanwhile (deleted by hand while the server runs) is rebuilt from the
        folders and the work tried once more."""
        for attempt in (1, 2):
            self._ensure()
            try:
                with closing(self._connect()) as db:
                    if not write:
                        return work(db)
                    with in_transaction(db):
                        return work(db)
            except sqlite3.DatabaseError as e:
                missing = isinstance(e, sqlite3.OperationalError) and "no such table" in str(e)
                if attempt == 2 or not (missing or _is_corruption(e)):
                    raise
                self._forget()
                if not missing:
                    self._replace_corrupt()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 30000")
        db.execute("PRAGMA synchronous = NORMAL")  # durable with WAL against a killed process
        return db

    def _ensure(self) -> None:
        key = str(self.path)
        if key in RunIndex._ready:
            return
        with RunIndex._ready_lock:
            if key in RunIndex._ready:
                return
            self.root.mkdir(parents=True, exist_ok=True)
            try:
                self._open_or_build()
            except sqlite3.DatabaseError as e:
                if not _is_corruption(e):
                    raise
                self._replace_corrupt()
                self._open_or_build()
            RunIndex._ready.add(key)

    def _open_or_build(self) -> None:
        with closing(self._connect()) as db:
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode = WAL")
            if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                return
            db.execute("BEGIN IMMEDIATE")  # a second process waits here, then finds it built
            try:
                if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                    db.execute("DROP TABLE IF EXISTS runs")
                    db.execute(_SCHEMA)
                    for sql in _INDEXES:
                        db.execute(sql)
                    self._fill(db)
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _fill(self, db) -> int:
        rows = list(self._rebuild_from(self.root)) if self._rebuild_from else []
        db.executemany(_INSERT, [_values(r) for r in rows])
        return len(rows)

    def _forget(self) -> None:
        with RunIndex._ready_lock:
            RunIndex._ready.discard(str(self.path))

    def _replace_corrupt(self) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                os.replace(p, p.with_name(f".{p.name}.corrupt-{stamp}"))

    # ------------------------------------------------------------------ writing
    def put(self, row: RunRow) -> None:
        self._run(lambda db: db.execute(_INSERT, _values(row)), write=True)

    def remove(self, run_id: str) -> None:
        self._run(lambda db: db.execute("DELETE FROM runs WHERE id = ?", (run_id,)), write=True)

    def rebuild(self) -> int:
        """Every row again from the folders, in one transaction; returns the number of runs."""
        def work(db):
            db.execute("DELETE FROM runs")
            return self._fill(db)
        return self._run(work, write=True)

    def sync(self, folder_ids: Iterable[str], read_row) -> tuple[list[str], list[str]]:
        """Rows for folders added by hand (copied in) and none for folders removed by hand.
        Returns (added, removed) ids."""
        present = set(folder_ids)
        known = set(self.ids())
        added, removed = sorted(present - known), sorted(known - present)
        rows = [r for r in (read_row(i) for i in added) if r is not None]
        if rows or removed:
            def work(db):
                db.executemany("DELETE FROM runs WHERE id = ?", [(i,) for i in removed])
                db.executemany(_INSERT, [_values(r) for r in rows])
            self._run(work, write=True)
        return [r.id for r in rows], removed

    # ------------------------------------------------------------------ reading
    def query(self, flt: RunFilter = RunFilter(), viewer=None, limit: int = PAGE_SIZE, offset: int = 0,
              order: str = "newest") -> list[RunRow]:
        """The matching runs `viewer` (a nets.runs.access.Access; None: everyone's) may see, one page."""
        clause, params = where(flt, viewer)
        return self._rows(f"SELECT {_SELECT} FROM runs{clause} ORDER BY {ORDERS[order]} LIMIT ? OFFSET ?",
                          [*params, int(limit), int(offset)])

    def count(self, flt: RunFilter = RunFilter(), viewer=None) -> int:
        clause, params = where(flt, viewer)
        return self._values(f"SELECT count(*) FROM runs{clause}", params)[0]

    def get(self, run_id: str) -> RunRow | None:
        rows = self._rows(f"SELECT {_SELECT} FROM runs WHERE id = ?", (run_id,))
        return rows[0] if rows else None

    def ids(self) -> list[str]:
        return self._values("SELECT id FROM runs")

    def names(self) -> list[str]:
        """Every run's name (new names are made distinct from them)."""
        return self._values("SELECT name FROM runs")

    def choices(self, column: str, viewer=None) -> list[str]:
        """The distinct values of a column among the runs `viewer` may see (for filter menus)."""
        if column not in ("dataset", "model", "status", "optimizer", "loss"):
            raise ValueError(column)
        clause, params = where(RunFilter(), viewer)
        return [v for v in self._values(f"SELECT DISTINCT {column} FROM runs{clause} ORDER BY {column}", params) if v]

    def total_bytes(self) -> int:
        return int(self._values("SELECT coalesce(sum(bytes), 0) FROM runs")[0])

    def unfinished_before(self, statuses, before: str) -> list[RunRow]:
        """Unstarred runs with one of `statuses`, created before `before` ("YYYY-mm-dd HH:MM:SS")."""
        return self._rows(f"SELECT {_SELECT} FROM runs WHERE starred = 0 AND created < ? AND status IN "
                          f"({', '.join('?' * len(statuses))}) ORDER BY created", [before, *statuses])

    def _rows(self, sql: str, params=()) -> list[RunRow]:
        return self._run(lambda db: [_row(v) for v in db.execute(sql, params).fetchall()])

    def _values(self, sql: str, params=()) -> list:
        """The first column of each result row."""
        return self._run(lambda db: [v[0] for v in db.execute(sql, params).fetchall()])


def _values(row: RunRow) -> tuple:
    return tuple(int(v) if isinstance(v, bool) else v for v in (getattr(row, c) for c in COLUMNS))


def _row(values) -> RunRow:
    d = dict(zip(COLUMNS, values))
    for c in ("shared", "starred", "has_model", "images"):
        d[c] = bool(d[c])
    return RunRow(**d)


def _is_corruption(e: sqlite3.DatabaseError) -> bool:
    # OperationalError covers a locked database or a read-only folder: not corruption.
    return not isinstance(e, sqlite3.OperationalError) or "malformed" in str(e) or "not a database" in str(e)
