"""The `accounts` schema branch, handed to the hub's store as an area with no kinds and
no projection (hub state: a rebuild never touches it, a node never gets it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Table

from sync_protocol.ops import Op
from sync_protocol.registry import Kind

MIGRATIONS = Path(__file__).with_name("migrations")


@dataclass(frozen=True)
class AccountsArea:
    name: str = "accounts"
    kinds: tuple[Kind, ...] = ()
    tables: tuple[Table, ...] = field(default=())  # no projection: nothing to rebuild
    migrations: Path | None = MIGRATIONS

    def apply(self, conn: Connection, ops: Sequence[Op]) -> None:
        """No op kind is this area's: nothing to fold."""


AREA = AccountsArea()
