"""What every part of the replica store shares: its engines and its one writer.

Writes go through one lock per process plus the database's own locking (SQLite's
BEGIN IMMEDIATE, PostgreSQL's row lock on an origin's head), so several hub workers can
apply the same op concurrently and it is still stored once.

A write the disk has no room for raises `StorageFull` (translated here, once, from
whatever the driver said) after the database rolled the transaction back: nothing of it
is stored. The full disk is logged and, when the disk still takes that much, noted as an
incident (kind `storage_full`).

`Prepared` statements run the hot write path (a till's sale: a handful of statements in
one transaction) on the driver's cursor, compiled once per dialect.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from sync_protocol.errors import ConfigurationError, StorageFull
from sync_protocol.store.dialect import is_storage_full, make_engines

log = logging.getLogger(__name__)


class StoreBase:
    def __init__(self, url: str, *, durable: bool = True) -> None:
        self.engine: Engine
        self.read_engine: Engine
        self.engine, self.read_engine = make_engines(url, durable=durable)
        self.dialect = self.engine.dialect.name
        self._lock = threading.RLock()
        self._noting_full = False

    def close(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """One short write transaction. A full disk raises `StorageFull`."""
        with self._lock:
            try:
                with self.engine.begin() as conn:
                    yield conn
            except StorageFull:
                raise
            except Exception as exc:
                if not is_storage_full(exc):
                    raise
                error = StorageFull(_first_line(exc))
                # The transaction is over (rolled back): a note of it is a new one.
                self._note_storage_full(error)
                raise error from exc

    def _note_storage_full(self, error: StorageFull) -> None:
        """Log the full disk and record it as an incident where the disk allows; never
        raises (a disk this full may well refuse the incident too: the log has it)."""
        log.error("write refused, storage full (rolled back): %s", error.detail)
        record = getattr(self, "record_incident", None)  # every ReplicaStore has Records
        if record is None or self._noting_full:
            return
        self._noting_full = True
        try:
            record(
                disposition="rejected",
                kind="storage_full",
                reason=f"a write was rolled back, the disk is full: {error.detail}"[:2000],
            )
        except Exception as exc:  # a note must not hide the real error
            log.error("could not record the storage-full incident either: %s", _first_line(exc))
        finally:
            self._noting_full = False

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.read_engine.connect() as conn:
            yield conn


class Prepared:
    """A Core statement compiled once per dialect and run on the driver's own cursor.

    A statement through `Connection.execute` costs ~30-40 µs of Python on a Pi-class CPU
    (its cache key, execution context and result wrapper) against a few µs for the
    driver: on a sale's path of ~8 statements that was most of the CPU a sale took. A
    `Prepared` keeps the SQL text SQLAlchemy compiled for the connection's dialect (its
    quoting, its paramstyle) and hands the parameters straight to the DBAPI cursor, in
    the caller's transaction. Only for statements whose parameters need no type
    conversion (integers and text); `build` is called once per dialect name, for
    statements that differ by dialect (upserts, `FOR UPDATE`)."""

    def __init__(self, build: Callable[[str], ClauseElement]) -> None:
        self._build = build
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def _sql(self, dialect: Dialect) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
        hit = self._compiled.get(dialect.name)
        if hit is None:
            compiled = self._build(dialect.name).compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            processors = getattr(compiled, "_bind_processors", {})
            if processors:
                raise ConfigurationError(
                    f"a prepared statement's parameters need type conversion: {sorted(processors)}"
                )
            names = tuple(compiled.positiontup or ()) if compiled.positional else None
            # Literal values written in the statement (`seq > 0`) are bound parameters too.
            fixed = {k: v for k, v in compiled.params.items() if v is not None}
            hit = (compiled.string, names, fixed)
            self._compiled[dialect.name] = hit
        return hit

    def _args(
        self, names: tuple[str, ...] | None, fixed: dict[str, Any], params: Mapping[str, Any]
    ) -> Any:
        values = {**fixed, **params} if fixed else params
        return values if names is None else tuple(values[n] for n in names)

    def _cursor(self, conn: Connection, params: Mapping[str, Any] | None) -> Any:
        sql, names, fixed = self._sql(conn.dialect)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(sql, self._args(names, fixed, params or {}))
        except BaseException:
            cursor.close()
            raise
        return cursor

    def run(self, conn: Connection, params: Mapping[str, Any] | None = None) -> int:
        """Execute once; returns the number of rows it changed."""
        cursor = self._cursor(conn, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def run_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Execute once per row (the driver's executemany)."""
        if not rows:
            return
        sql, names, fixed = self._sql(conn.dialect)
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(sql, [self._args(names, fixed, row) for row in rows])
        finally:
            cursor.close()

    def first(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Any:
        """The first row (a tuple), or None."""
        cursor = self._cursor(conn, params)
        try:
            return cursor.fetchone()
        finally:
            cursor.close()

    def all(self, conn: Connection, params: Mapping[str, Any] | None = None) -> list[Any]:
        cursor = self._cursor(conn, params)
        try:
            return list(cursor.fetchall())
        finally:
            cursor.close()


def _first_line(exc: BaseException) -> str:
    """The driver's words without SQLAlchemy's SQL and parameters (they may hold a sale)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if isinstance(orig, BaseException) else exc)
    return (text.splitlines() or [type(exc).__name__])[0][:300]
