"""The rights the hub's routes ask for, what each role holds and what an API token may
hold. Plain constants: the command line reads them without loading the web app."""

from __future__ import annotations

from typing import Final

#: What the hub's routes ask for.
CATALOG_WRITE: Final = "catalog:write"
STAFF_WRITE: Final = "staff:write"
USERS_WRITE: Final = "users:write"  # users and API tokens: an admin's
STOCK_READ: Final = "stock:read"
NODES_READ: Final = "nodes:read"
AUDIT_READ: Final = "audit:read"

#: What an API token may hold (never users:write: a token cannot make logins).
TOKEN_SCOPES: Final = frozenset({CATALOG_WRITE, STAFF_WRITE, STOCK_READ, NODES_READ, AUDIT_READ})

_READ: Final = frozenset({STOCK_READ, NODES_READ})
ROLE_SCOPES: Final[dict[str, frozenset[str]]] = {
    "admin": TOKEN_SCOPES | {USERS_WRITE},
    "operations": _READ | {CATALOG_WRITE, STAFF_WRITE, AUDIT_READ},
    "finance": _READ | {AUDIT_READ},
    "warehouse_manager": _READ | {STAFF_WRITE},
    "viewer": _READ,
}
