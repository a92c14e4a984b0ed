"""Small builders that read like the business, for replication tests."""

from __future__ import annotations

from sync_protocol.store import ReplicaStore


def receive(store: ReplicaStore, sku: str, qty: int, *, location: str | None = None) -> None:
    with store.write() as txn:
        txn.append(
            "stock.moved",
            {"sku": sku, "location": location or store.origin, "qty": qty, "reason": "receive"},
            "tester",
        )
