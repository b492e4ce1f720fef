"""The receiver's durable state: one SQLite file per project in the state folder.

An event is written here (and synced to disk) before the receiver answers 2xx, so an accepted event
survives a crash or a restart. Events are coalesced per task: however many arrive for one task while it
waits, it is checked once (`pending`, keyed by task; a `version` counts the events, and a job finished
while a newer event arrived stays pending). Workers claim due jobs with a lease, so two workers never check
one task at once and a job whose worker died is claimed again when its lease runs out. A job that cannot
be done now (Label Studio unreachable) waits with a growing delay; nothing is dropped but a task Label
Studio says does not exist.

Also kept: which task each seen annotation belongs to (ANNOTATIONS_DELETED names only annotations), the
newest task change checked (to catch up at start), the registered webhook, and counters.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SWEEP = -1
"""The job that re-checks every task carrying findings (after deletions of annotations never seen)."""
MAX_REMEMBERED = 200_000
"""Annotation → task pairs kept (the oldest are forgotten first)."""
MAX_PENDING = 1_000_000
"""Jobs that may wait at once; beyond, new tasks are refused (503) rather than filling the disk."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    task INTEGER PRIMARY KEY,
    version INTEGER NOT NULL,
    first_at REAL NOT NULL,
    due_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    claimed_until REAL NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX IF NOT EXISTS pending_due ON pending (due_at);
CREATE TABLE IF NOT EXISTS annotations (annotation INTEGER PRIMARY KEY, task INTEGER NOT NULL, seen REAL NOT NULL);
CREATE INDEX IF NOT EXISTS annotations_seen ON annotations (seen);
CREATE TABLE IF NOT EXISTS facts (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class QueueFull(Exception):
    """More jobs wait than `MAX_PENDING`."""


@dataclass(frozen=True)
class Job:
    """A claimed job: a task id (or `SWEEP`), the version it was claimed at, and how often it failed."""

    task: int
    version: int
    attempts: int


class StateStore:
    """The state file of one project; safe to use from many threads (a connection per thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._write = threading.Lock()
        self.changed = threading.Condition()
        """Notified whenever a job is added or becomes due again."""
        self._db().executescript(_SCHEMA)

    def release_claims(self) -> None:
        """Make every claimed job claimable at once: the process that claimed them is gone (one receiver runs
        per state file, see `locks.only_one`)."""
        with self._transaction() as db:
            db.execute("UPDATE pending SET claimed_until = 0 WHERE claimed_until > 0")

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # an accepted event is on disk before the 2xx answer
            self._local.db = db
        return db

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db(), self._write)

    # --- events ---------------------------------------------------------------------------------------

    def add(self, tasks: Iterable[int], annotations: dict[int, int] | None = None) -> int:
        """Record an event asking to check `tasks` (and remember `annotations`: id → task); returns how many
        of the tasks were already waiting (coalesced). Raises `QueueFull` when too many jobs wait."""
        now = time.time()
        tasks = sorted(set(tasks))
        with self._transaction() as db:
            waiting = _existing(db, "SELECT task FROM pending WHERE task IN", tasks)
            if len(tasks) > len(waiting) and _count(db) + len(tasks) - len(waiting) > MAX_PENDING:
                raise QueueFull(f"{MAX_PENDING:,} jobs are waiting")
            db.executemany(
                "INSERT INTO pending (task, version, first_at, due_at) VALUES (?, 1, ?, ?) "
                "ON CONFLICT (task) DO UPDATE SET version = version + 1, "
                "due_at = CASE WHEN attempts = 0 THEN MIN(due_at, excluded.due_at) ELSE due_at END",
                [(task, now, now) for task in tasks],
            )
            if annotations:
                db.executemany(
                    "INSERT OR REPLACE INTO annotations (annotation, task, seen) VALUES (?, ?, ?)",
                    [(a, t, now) for a, t in annotations.items()],
                )
                _forget_oldest(db)
            _bump(db, "events")
            _bump(db, "coalesced", len(waiting))
        self._notify()
        return len(waiting)

    def tasks_of(self, annotations: Iterable[int]) -> dict[int, int]:
        """The task of each of `annotations` that was seen, forgetting them (they were deleted)."""
        ids = sorted(set(annotations))
        with self._transaction() as db:
            found: dict[int, int] = {}
            for part in _parts(ids):
                rows = db.execute(_IN("SELECT annotation, task FROM annotations WHERE annotation IN", part), part)
                found.update((int(a), int(t)) for a, t in rows)
                db.execute(_IN("DELETE FROM annotations WHERE annotation IN", part), part)
        return found

    # --- jobs -----------------------------------------------------------------------------------------

    def claim(self, lease: float = 300.0) -> Job | None:
        """The job due first, claimed for `lease` seconds; None when none is due."""
        now = time.time()
        with self._transaction() as db:
            row = db.execute(
                "UPDATE pending SET claimed_until = ? WHERE task = (SELECT task FROM pending WHERE due_at <= ? "
                "AND claimed_until <= ? ORDER BY due_at LIMIT 1) RETURNING task, version, attempts",
                (now + lease, now, now),
            ).fetchone()
        return Job(*row) if row else None

    def done(self, job: Job) -> None:
        """The job is done: it leaves the queue, unless an event for its task came in meanwhile."""
        with self._transaction() as db:
            gone = db.execute("DELETE FROM pending WHERE task = ? AND version = ?", (job.task, job.version)).rowcount
            if not gone:
                db.execute("UPDATE pending SET claimed_until = 0, attempts = 0 WHERE task = ?", (job.task,))
            _bump(db, "checked")
        if not gone:
            self._notify()

    def retry(self, job: Job, delay: float, error: str) -> None:
        """The job failed for now: due again in `delay` seconds."""
        with self._transaction() as db:
            db.execute(
                "UPDATE pending SET attempts = attempts + 1, due_at = ?, claimed_until = 0, error = ? WHERE task = ?",
                (time.time() + delay, error, job.task),
            )
            _bump(db, "retried")
        self._notify()

    def drop(self, job: Job) -> None:
        """The job cannot ever be done (its task does not exist): it leaves the queue."""
        with self._transaction() as db:
            db.execute("DELETE FROM pending WHERE task = ? AND version = ?", (job.task, job.version))
            _bump(db, "dropped")

    def next_due(self) -> float | None:
        """When the next unclaimed job is due (epoch seconds), or None."""
        row = self._db().execute("SELECT MIN(MAX(due_at, claimed_until)) FROM pending").fetchone()
        return float(row[0]) if row and row[0] is not None else None

    # --- facts and counters ---------------------------------------------------------------------------

    def fact(self, key: str) -> str | None:
        """A remembered fact (`last_change`, `webhook`, …)."""
        row = self._db().execute("SELECT value FROM facts WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_fact(self, key: str, value: str | None) -> None:
        """Remember (or, with None, forget) a fact."""
        with self._transaction() as db:
            if value is None:
                db.execute("DELETE FROM facts WHERE key = ?", (key,))
            else:
                db.execute("INSERT OR REPLACE INTO facts (key, value) VALUES (?, ?)", (key, value))

    def status(self) -> dict[str, int]:
        """The counters, and how many jobs wait and how many of them are failing for now."""
        db = self._db()
        out = {str(name): int(value) for name, value in db.execute("SELECT name, value FROM counters")}
        out["pending"] = _count(db)
        out["waiting_to_retry"] = int(db.execute("SELECT COUNT(*) FROM pending WHERE attempts > 0").fetchone()[0])
        return out

    def _notify(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def close(self) -> None:
        """Close this thread's connection."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


class _Transaction:
    """`BEGIN IMMEDIATE … COMMIT` (rolled back on error), one writer of this process at a time."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock) -> None:
        self.db = db
        self.lock = lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        try:
            self.db.execute("ROLLBACK" if kind is not None else "COMMIT")
        finally:
            self.lock.release()


def _IN(query: str, values: list[int]) -> str:
    return f"{query} ({','.join('?' * len(values))})" if values else f"{query} (NULL)"


def _parts(values: list[int], size: int = 5000) -> list[list[int]]:
    """`values` in pieces SQLite takes as parameters."""
    return [values[i : i + size] for i in range(0, len(values), size)]


def _existing(db: sqlite3.Connection, query: str, values: list[int]) -> set[int]:
    return {int(row[0]) for part in _parts(values) for row in db.execute(_IN(query, part), part)}


def _count(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT COUNT(*) FROM pending").fetchone()[0])


def _bump(db: sqlite3.Connection, name: str, by: int = 1) -> None:
    if by:
        db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + ?",
            (name, by, by),
        )


def _forget_oldest(db: sqlite3.Connection) -> None:
    extra = int(db.execute("SELECT COUNT(*) FROM annotations").fetchone()[0]) - MAX_REMEMBERED
    if extra > 0:
        db.execute(
            "DELETE FROM annotations WHERE annotation IN (SELECT annotation FROM annotations ORDER BY seen LIMIT ?)",
            (extra,),
        )
