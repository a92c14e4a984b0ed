"""The rights the node's routes ask for, what each role holds and what an API token may
hold. Plain constants: the command line reads them without loading the web app."""

from __future__ import annotations

from typing import Final

#: What the node's routes ask for.
SALES_WRITE: Final = "sales:write"
STOCK_WRITE: Final = "stock:write"  # receiving, moves, adjustments
STOCK_READ: Final = "stock:read"
SYNC_READ: Final = "sync:read"
AUDIT_READ: Final = "audit:read"

TOKEN_SCOPES: Final = frozenset({SALES_WRITE, STOCK_WRITE, STOCK_READ, SYNC_READ, AUDIT_READ})

_SEE: Final = frozenset({STOCK_READ, SYNC_READ})
ROLE_SCOPES: Final[dict[str, frozenset[str]]] = {
    "cashier": _SEE | {SALES_WRITE},
    "warehouse": _SEE | {STOCK_WRITE},
    "supervisor": _SEE | {SALES_WRITE, STOCK_WRITE, AUDIT_READ},
    "manager": TOKEN_SCOPES,
}
STAFF_PREFIX: Final = "staff:"
