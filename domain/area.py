"""What every business area hands the op store: the `Area` of `sync_protocol.registry`,
built from one area's modules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Table

from sync_protocol.ops import Op
from sync_protocol.registry import Kind


@dataclass(frozen=True)
class DomainArea:
    name: str
    kinds: tuple[Kind, ...]
    tables: tuple[Table, ...]
    migrations: Path | None
    fold: Callable[[Connection, Sequence[Op]], None]

    def apply(self, conn: Connection, ops: Sequence[Op]) -> None:
        self.fold(conn, ops)


@dataclass(frozen=True)
class LocalArea:
    """An area of this replica's own state (sessions, leases, accounts): a schema branch
    with no projection, so a rebuild never touches it and no snapshot carries it to
    another replica. Its `kinds`, if any, are facts recorded for the trail only: they
    fold into nothing."""

    name: str
    migrations: Path | None
    kinds: tuple[Kind, ...] = ()
    tables: tuple[Table, ...] = field(default=())  # no projection: nothing to rebuild
    own_tables: tuple[Table, ...] = ()  # what its migrations make (schema checks see them)

    def apply(self, conn: Connection, ops: Sequence[Op]) -> None:
        """No op kind is this area's: nothing to fold."""


def table_of(model: Any) -> Table:
    """The SQLAlchemy table behind an SQLModel table class (for Core bulk upserts)."""
    return cast(Table, model.__table__)
