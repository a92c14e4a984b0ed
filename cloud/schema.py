"""The hub's store: every business area, plus the hub's own tables (session leases, HQ
accounts), each a schema branch handed to the op store as a `LocalArea`: hub state, not
a view of the ops, so a rebuild never touches it and a node's ledger never gets it."""

from __future__ import annotations

from pathlib import Path

from cloud.accounts.tables import hub_users
from cloud.workers.leases import session_leases
from domain.area import LocalArea
from domain.registry import REGISTRY
from sync_protocol.registry import Registry

_CLOUD = Path(__file__).parent
WORKERS = LocalArea("workers", _CLOUD / "workers" / "migrations", own_tables=(session_leases,))
ACCOUNTS = LocalArea("accounts", _CLOUD / "accounts" / "migrations", own_tables=(hub_users,))

HUB_REGISTRY = Registry([*REGISTRY.areas, WORKERS, ACCOUNTS])
"""What the hub's store registers."""
