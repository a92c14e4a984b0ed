"""What every part of the replica store shares: its engines and its one writer.

Writes go through one lock per process plus the database's own locking (SQLite's
BEGIN IMMEDIATE, PostgreSQL's row lock on an origin's head), so several hub workers can
apply the same op concurrently and it is still stored once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from sync_protocol.store.dialect import make_engines


class StoreBase:
    def __init__(self, url: str, *, durable: bool = True) -> None:
        self.engine: Engine
        self.read_engine: Engine
        self.engine, self.read_engine = make_engines(url, durable=durable)
        self.dialect = self.engine.dialect.name
        self._lock = threading.RLock()

    def close(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """One short write transaction."""
        with self._lock, self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.read_engine.connect() as conn:
            yield conn
