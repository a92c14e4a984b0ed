"""Small builders and readers that read like the business, for replication tests."""

from __future__ import annotations

from typing import Any

from domain.catalog.queries import catalog
from domain.stock.queries import stock_levels
from sync_protocol.store import ReplicaStore


def receive(store: ReplicaStore, sku: str, qty: int, *, location: str | None = None) -> None:
    with store.write() as txn:
        txn.append(
            "stock.moved",
            {"sku": sku, "location": location or store.origin, "qty": qty, "reason": "receive"},
            "tester",
        )


def stock_of(store: ReplicaStore) -> dict[tuple[str, str], int]:
    """Stock on hand per (sku, location), as the replica's projection holds it."""
    with store.read() as conn:
        return stock_levels(conn)


def catalog_of(store: ReplicaStore) -> dict[str, dict[str, Any]]:
    with store.read() as conn:
        return catalog(conn)
