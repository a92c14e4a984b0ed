"""What every part of the replica store shares: its engines and its one writer.

Writes go through one lock per process plus the database's own locking (SQLite's
BEGIN IMMEDIATE, PostgreSQL's row lock on an origin's head), so several hub workers can
apply the same op concurrently and it is still stored once.

A write the disk has no room for raises `StorageFull` (translated here, once, from
whatever the driver said) after the database rolled the transaction back: nothing of it
is stored. The full disk is logged and, when the disk still takes that much, noted as an
incident (kind `storage_full`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from sync_protocol.errors import StorageFull
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


def _first_line(exc: BaseException) -> str:
    """The driver's words without SQLAlchemy's SQL and parameters (they may hold a sale)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if isinstance(orig, BaseException) else exc)
    return (text.splitlines() or [type(exc).__name__])[0][:300]
