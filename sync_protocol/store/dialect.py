"""The few places SQLite and PostgreSQL differ: engine set-up, upserts, and how each
says "the disk is full".

The WAL of a SQLite file stays bounded with or without Litestream (docs/durability.md,
"A bounded WAL"): SQLite's automatic PASSIVE checkpoint every `WAL_AUTOCHECKPOINT_PAGES`
pages, and `JOURNAL_SIZE_LIMIT` so the WAL file shrinks back after a burst. No connection
of ours ever runs a RESTART or TRUNCATE checkpoint: under Litestream those are its job.
"""

from __future__ import annotations

import errno
import sqlite3
import time
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import StaticPool

WAL_SWITCH_TIMEOUT = 30.0
# SQLite's own default, stated: a PASSIVE checkpoint after a commit that leaves the WAL
# at this many pages or more (~4 MiB of 4 KiB pages). Litestream 0.5 checkpoints at the
# same size, so neither runs far ahead of the other.
WAL_AUTOCHECKPOINT_PAGES = 1000
# When the WAL restarts from its beginning after a complete checkpoint, the file is cut
# back to this size: one large transaction (a projection rebuild, a migration, a big
# catch-up) does not leave a WAL that size on the disk for good. Twice the checkpoint
# size, so the everyday cycle of ~1000 pages never truncates and regrows the file.
JOURNAL_SIZE_LIMIT = 8 * 1024 * 1024

_SQLITE_FULL = 13  # "database or disk is full", also what SQLite makes of ENOSPC
_PG_DISK_FULL = "53100"  # PostgreSQL's disk_full ("could not extend file …")
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def make_engines(url: str, *, durable: bool = True) -> tuple[Engine, Engine]:
    """Return (write_engine, read_engine).

    SQLite gets one writer: its write engine opens every transaction with
    BEGIN IMMEDIATE so two writers queue on the lock instead of failing with
    SQLITE_BUSY halfway through; reads use a separate engine and, in WAL mode,
    never block the writer. `durable=False` (simulations only) skips fsync.
    """
    if not url.startswith("sqlite"):
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
        return engine, engine
    if url in ("sqlite://", "sqlite:///:memory:"):
        # One in-memory database must be one connection, shared.
        engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        _sqlite_pragmas(engine, durable=durable, immediate=False, memory=True)
        return engine, engine
    write = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    _sqlite_pragmas(write, durable=durable, immediate=True, memory=False)
    read = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    _sqlite_pragmas(read, durable=durable, immediate=False, memory=False)
    return write, read


def _sqlite_pragmas(engine: Engine, *, durable: bool, immediate: bool, memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN below be the only transaction control (pysqlite's
        # own implicit BEGIN would defeat BEGIN IMMEDIATE).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=30000")
        if not memory:
            _enter_wal(cur)
        cur.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
        cur.execute("PRAGMA foreign_keys=ON")
        if not memory:
            cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
            cur.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _enter_wal(cur: Any) -> None:
    """Switch the file to WAL (it stays WAL once set). Switching needs an exclusive lock,
    and SQLite answers "database is locked" at once, without the busy handler, when
    another process opens the same new file at the same moment: so retry."""
    deadline = time.monotonic() + WAL_SWITCH_TIMEOUT
    delay = 0.005
    while True:
        try:
            mode = cur.execute("PRAGMA journal_mode=WAL").fetchone()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        else:
            if mode and str(mode[0]).lower() == "wal":
                return
            if time.monotonic() > deadline:
                raise sqlite3.OperationalError(f"could not switch to WAL (still {mode})")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def is_storage_full(exc: BaseException) -> bool:
    """Whether `exc` (a SQLAlchemy error, a DBAPI error or an OSError, or anything caused
    by one) says the disk or the database is full."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        error = todo.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        if _says_full(error):
            return True
        orig = getattr(error, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's
        todo += [orig if isinstance(orig, BaseException) else None]
        todo += [error.__cause__, error.__context__]
    return False


def _says_full(error: BaseException) -> bool:
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        if isinstance(code, int):
            return code & 0xFF == _SQLITE_FULL
        return "database or disk is full" in str(error)
    if isinstance(error, OSError):
        return error.errno in _NO_SPACE
    # psycopg 3 (`sqlstate`) and psycopg2 (`pgcode`): no import, the hub may have neither
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return state == _PG_DISK_FULL


def insert_for(engine_name: str, table: Table) -> Any:
    """A dialect insert that supports ON CONFLICT."""
    if engine_name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
