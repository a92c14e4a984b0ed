"""Fixtures for the business areas: a store per test on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from domain.registry import REGISTRY
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore

MakeStore = Callable[..., ReplicaStore]


@pytest.fixture
def make_store(hub_db_url: str) -> Iterator[MakeStore]:
    """The first store of a test uses the parametrised database (SQLite, PostgreSQL);
    any further one a private in-memory SQLite, so replicas never share tables."""
    made: list[ReplicaStore] = []

    def make(origin: str = "cloud", *, url: str | None = None) -> ReplicaStore:
        chosen = url or (hub_db_url if not made else "sqlite://")
        store = ReplicaStore(chosen, origin=origin, key=NodeKey.generate(), registry=REGISTRY)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()
