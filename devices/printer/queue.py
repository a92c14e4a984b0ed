"""A durable print queue: every job is on disk before ``enqueue`` returns.

One SQLite file per printer (one writer per file; the worker is the only consumer).
A job's life::

    queued ──claim──▶ printing ──▶ printed
      ▲                  │
      └──── retrying ◀───┘  (printer offline, out of paper, …; retried with backoff)

    queued / retrying ──cancel(reason)──▶ cancelled   (only on a person's explicit request)

Nothing leaves the queue silently: a job ends only as ``printed`` or, by an explicit
``cancel``, ``cancelled``; until then ``pending()`` shows it with its attempts and last
error. Jobs are strictly in order: while the head job waits for its retry, later jobs
wait behind it, so receipts never come out shuffled.

Delivery is at-least-once. A job found in ``printing`` when the queue opens was cut off
by a crash or power loss mid-send; it goes back to ``retrying`` with a note, because a
receipt printed twice is a nuisance and a receipt never printed is a lost sale record.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, cast

JobState = Literal["queued", "printing", "retrying", "printed", "cancelled"]
INTERRUPTED = "interrupted while printing (process stopped); sent again, may print twice"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS print_job (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: ids give the order
    job_key         TEXT UNIQUE,
    description     TEXT NOT NULL,
    payload         BLOB NOT NULL,
    state           TEXT NOT NULL CHECK (state IN
                        ('queued', 'printing', 'retrying', 'printed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    finished_at     REAL
);
CREATE INDEX IF NOT EXISTS print_job_by_state ON print_job (state, id);
"""
_COLUMNS = "id, description, state, attempts, last_error, created_at, next_attempt_at, finished_at"


def _utc(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


@dataclass(frozen=True)
class PrintJob:
    """A snapshot of one job, for status pages and the device agent."""

    id: int
    description: str
    state: JobState
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    finished_at: datetime | None

    @classmethod
    def _from_row(cls, row: tuple[object, ...]) -> PrintJob:
        id_, desc, state, attempts, error, created, next_at, finished = row
        return cls(
            id=cast(int, id_),
            description=cast(str, desc),
            state=cast(JobState, state),
            attempts=cast(int, attempts),
            last_error=cast(str | None, error),
            created_at=cast(datetime, _utc(cast(float, created))),
            next_attempt_at=cast(datetime, _utc(cast(float, next_at))),
            finished_at=_utc(cast(float | None, finished)),
        )


class PrintQueue:
    """The jobs of one printer, persisted in ``path`` (created if missing).

    ``clock`` returns wall-clock epoch seconds; it must survive a restart (retry times
    are stored), so it is ``time.time`` in production and a fake in tests.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        keep_finished_s: float = 7 * 24 * 3600,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self.keep_finished_s = keep_finished_s
        self._lock = threading.Lock()
        self._work = threading.Event()
        # Autocommit mode; every change is one short explicit transaction.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a queued receipt survives power loss
        self._db.executescript(_SCHEMA)
        self._recover_interrupted()

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """One short write transaction under the queue's lock (one writer per file)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _recover_interrupted(self) -> None:
        with self._tx():
            self._db.execute(
                "UPDATE print_job SET state = 'retrying', last_error = ? WHERE state = 'printing'",
                (INTERRUPTED,),
            )

    # --- producers ------------------------------------------------------------------

    def enqueue(self, data: bytes, description: str = "", *, key: str | None = None) -> int:
        """Persist a rendered job and return its id.

        ``key`` makes the call idempotent (e.g. ``"receipt:S0001-000123"``): enqueueing
        the same key again returns the existing job instead of printing it twice, so a
        caller that crashed after enqueueing can simply enqueue again.
        """
        if not data:
            raise ValueError("refusing to queue an empty print job")
        now = self.clock()
        with self._tx():
            if key is not None:
                row = self._db.execute(
                    "SELECT id FROM print_job WHERE job_key = ?", (key,)
                ).fetchone()
                if row is not None:
                    return cast(int, row[0])
            cur = self._db.execute(
                "INSERT INTO print_job (job_key, description, payload, state, created_at,"
                " next_attempt_at) VALUES (?, ?, ?, 'queued', ?, ?)",
                (key, description, data, now, now),
            )
        self._work.set()
        return cast(int, cur.lastrowid)

    def cancel(self, job_id: int, reason: str) -> bool:
        """Drop a job that has not printed, on a person's request; the reason is kept."""
        with self._tx():
            cur = self._db.execute(
                "UPDATE print_job SET state = 'cancelled', last_error = ?, finished_at = ?"
                " WHERE id = ? AND state IN ('queued', 'retrying')",
                (f"cancelled: {reason}", self.clock(), job_id),
            )
        self._work.set()  # the head may have changed
        return cur.rowcount == 1

    # --- status ---------------------------------------------------------------------

    def pending(self) -> list[PrintJob]:
        """Jobs not printed yet, oldest first, with attempts and last error."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM print_job"
                " WHERE state IN ('queued', 'printing', 'retrying') ORDER BY id"
            ).fetchall()
        return [PrintJob._from_row(r) for r in rows]

    def get(self, job_id: int) -> PrintJob | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM print_job WHERE id = ?", (job_id,)
            ).fetchone()
        return None if row is None else PrintJob._from_row(row)

    # --- the worker's side ----------------------------------------------------------

    def claim_next(self) -> tuple[PrintJob, bytes] | None:
        """Move the head job to ``printing`` if its retry time has come.

        Only the head is considered, never a later job, to keep the printing order.
        """
        now = self.clock()
        with self._tx():
            row = self._db.execute(
                "SELECT id, state, next_attempt_at, payload FROM print_job"
                " WHERE state IN ('queued', 'printing', 'retrying') ORDER BY id LIMIT 1"
            ).fetchone()
            if row is None or row[1] == "printing" or row[2] > now:
                return None
            self._db.execute(
                "UPDATE print_job SET state = 'printing', attempts = attempts + 1 WHERE id = ?",
                (row[0],),
            )
            job = self._db.execute(
                f"SELECT {_COLUMNS} FROM print_job WHERE id = ?", (row[0],)
            ).fetchone()
        return PrintJob._from_row(job), cast(bytes, row[3])

    def mark_printed(self, job_id: int) -> PrintJob:
        now = self.clock()
        with self._tx():
            self._db.execute(
                "UPDATE print_job SET state = 'printed', last_error = NULL, finished_at = ?,"
                " payload = x'' WHERE id = ?",  # the bytes are no longer needed
                (now, job_id),
            )
            self._db.execute(
                "DELETE FROM print_job WHERE state IN ('printed', 'cancelled') AND finished_at < ?",
                (now - self.keep_finished_s,),
            )
        return self._must_get(job_id)

    def mark_failed(self, job_id: int, error: str, retry_in: float) -> PrintJob:
        with self._tx():
            self._db.execute(
                "UPDATE print_job SET state = 'retrying', last_error = ?, next_attempt_at = ?"
                " WHERE id = ?",
                (error, self.clock() + retry_in, job_id),
            )
        return self._must_get(job_id)

    def seconds_until_due(self) -> float | None:
        """How long until the head job may be tried; ``None`` when nothing is open."""
        with self._lock:
            row = self._db.execute(
                "SELECT next_attempt_at FROM print_job"
                " WHERE state IN ('queued', 'printing', 'retrying') ORDER BY id LIMIT 1"
            ).fetchone()
        return None if row is None else max(0.0, cast(float, row[0]) - self.clock())

    def wait_for_work(self, timeout: float) -> None:
        """Block until a job is enqueued/cancelled or ``timeout`` passes."""
        self._work.wait(timeout)
        self._work.clear()

    def wake(self) -> None:
        self._work.set()

    def _must_get(self, job_id: int) -> PrintJob:
        job = self.get(job_id)
        if job is None:
            raise KeyError(f"print job {job_id} vanished")
        return job
