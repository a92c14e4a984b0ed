"""The hub's store: every business area, plus the hub's own tables (session leases, HQ
accounts), each a schema branch handed to the op store as an area with no kinds and no
projection: hub state, not a view of the ops, so a rebuild never touches it and a
node's ledger never gets it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Table

from domain.registry import REGISTRY
from sync_protocol.ops import Op
from sync_protocol.registry import Kind, Registry


@dataclass(frozen=True)
class HubOnlyArea:
    name: str
    migrations: Path | None
    kinds: tuple[Kind, ...] = ()
    tables: tuple[Table, ...] = field(default=())  # no projection: nothing to rebuild

    def apply(self, conn: Connection, ops: Sequence[Op]) -> None:
        """No op kind is this area's: nothing to fold."""


_CLOUD = Path(__file__).parent
WORKERS = HubOnlyArea("workers", _CLOUD / "workers" / "migrations")
ACCOUNTS = HubOnlyArea("accounts", _CLOUD / "accounts" / "migrations")

HUB_REGISTRY = Registry([*REGISTRY.areas, WORKERS, ACCOUNTS])
"""What the hub's store registers."""
