"""Fixtures for the replication library: keys, stores that read like the business."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from domain.registry import REGISTRY
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore


@pytest.fixture
def replica_url(hub_db_url: str) -> str:
    """The same store contract runs on SQLite and on PostgreSQL."""
    return hub_db_url


@pytest.fixture
def make_store(replica_url: str) -> Iterator[Callable[..., ReplicaStore]]:
    """Build replicas sharing one database URL is wrong (they would share tables), so
    only the first store uses `replica_url`; others get private in-memory SQLite."""
    made: list[ReplicaStore] = []

    def make(origin: str, *, key: NodeKey | None = None, url: str | None = None) -> ReplicaStore:
        chosen = url or (replica_url if not made else "sqlite://")
        store = ReplicaStore(
            chosen, origin=origin, key=key or NodeKey.generate(), registry=REGISTRY
        )
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()
