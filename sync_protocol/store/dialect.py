"""The few places SQLite and PostgreSQL differ: engine set-up and upserts."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import StaticPool

WAL_SWITCH_TIMEOUT = 30.0


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


def insert_for(engine_name: str, table: Table) -> Any:
    """A dialect insert that supports ON CONFLICT."""
    if engine_name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
