"""What every business area hands the op store: the `Area` of `sync_protocol.registry`,
built from one area's modules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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


def table_of(model: Any) -> Table:
    """The SQLAlchemy table behind an SQLModel table class (for Core bulk upserts)."""
    return cast(Table, model.__table__)
