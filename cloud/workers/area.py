"""The hub's own schema branch (`workers`), handed to the op store as an area with no
kinds and no projection: the lease table is hub state, not a view of the ops, so a
rebuild never touches it and a node's ledger never gets it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Table

from cloud.accounts.area import AREA as ACCOUNTS
from domain.registry import REGISTRY
from sync_protocol.ops import Op
from sync_protocol.registry import Kind, Registry

MIGRATIONS = Path(__file__).with_name("migrations")


@dataclass(frozen=True)
class WorkersArea:
    name: str = "workers"
    kinds: tuple[Kind, ...] = ()
    tables: tuple[Table, ...] = field(default=())  # no projection: nothing to rebuild
    migrations: Path | None = MIGRATIONS

    def apply(self, conn: Connection, ops: Sequence[Op]) -> None:
        """No op kind is this area's: nothing to fold."""


AREA = WorkersArea()


HUB_REGISTRY = Registry([*REGISTRY.areas, AREA, ACCOUNTS])
"""What the hub's store registers: every business area, and the hub's own schema
(session leases, HQ accounts)."""
