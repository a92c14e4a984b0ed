"""Session leases (cloud/workers/leases.py) on SQLite and PostgreSQL: who serves a node,
taken, renewed, expired, taken over and released; racing workers get one winner."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from cloud.schema import HUB_REGISTRY
from cloud.workers.leases import LeaseBook
from sync_protocol.store import ReplicaStore

TTL = 3_000
T0 = 1_800_000_000_000  # ms; the tests drive the clock


@pytest.fixture
def hub(hub_db_url: str) -> Iterator[ReplicaStore]:
    store = ReplicaStore(hub_db_url, origin="cloud", registry=HUB_REGISTRY)
    yield store
    store.close()


def worker(hub: ReplicaStore, name: str) -> LeaseBook:
    return LeaseBook(hub.engine, name, lease_ms=TTL)


def test_a_free_lease_goes_to_the_first_worker_and_the_next_is_told_who_holds_it(
    hub: ReplicaStore,
) -> None:
    a, b = worker(hub, "a"), worker(hub, "b")
    first = a.take("store-1", T0)
    second = b.take("store-1", T0 + 10)
    assert (first.worker, first.expires_ms, first.taken_ms) == ("a", T0 + TTL, T0)
    assert second == first  # b did not get it, and reads a's lease unchanged


def test_renewal_keeps_the_lease_past_its_first_expiry(hub: ReplicaStore) -> None:
    a, b = worker(hub, "a"), worker(hub, "b")
    a.take("store-1", T0)
    a.take("store-2", T0)
    assert a.renew(T0 + 2_000) == {"store-1": T0 + 5_000, "store-2": T0 + 5_000}
    assert b.take("store-1", T0 + 4_000).worker == "a"
    kept = a.take("store-1", T0 + 4_500)  # taking again what one holds renews it
    assert (kept.worker, kept.expires_ms, kept.taken_ms) == ("a", T0 + 7_500, T0)


def test_an_expired_lease_is_taken_over_and_its_old_holder_is_told_it_lost_it(
    hub: ReplicaStore,
) -> None:
    a, b = worker(hub, "a"), worker(hub, "b")
    a.take("store-1", T0)
    a.take("store-2", T0)
    taken = b.take("store-1", T0 + TTL)  # expired at that very ms
    assert (taken.worker, taken.taken_ms) == ("b", T0 + TTL)
    assert a.renew(T0 + TTL + 1) == {"store-2": T0 + 2 * TTL + 1}
    assert a.take("store-1", T0 + TTL + 2).worker == "b"


def test_a_released_lease_is_free_at_once(hub: ReplicaStore) -> None:
    a, b = worker(hub, "a"), worker(hub, "b")
    a.take("store-1", T0)
    a.take("store-2", T0)
    a.release(["store-1"])
    assert b.take("store-1", T0 + 1).worker == "b"
    a.release()
    assert b.take("store-2", T0 + 2).worker == "b"
    assert a.renew(T0 + 3) == {}
    assert [(lease.node, lease.worker) for lease in b.all()] == [
        ("store-1", "b"),
        ("store-2", "b"),
    ]


def test_workers_racing_for_the_same_leases_get_exactly_one_winner_each(
    hub: ReplicaStore,
) -> None:
    nodes = [f"store-{i}" for i in range(40)]
    books = [worker(hub, f"w{i}") for i in range(4)]
    won: dict[str, list[tuple[str, str]]] = {b.worker: [] for b in books}
    start = threading.Barrier(len(books))

    def race(book: LeaseBook) -> None:
        start.wait()
        for node in nodes:
            lease = book.take(node, T0)
            won[book.worker].append((node, lease.worker))

    threads = [threading.Thread(target=race, args=(b,)) for b in books]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    holders = {lease.node: lease.worker for lease in books[0].all()}
    assert sorted(holders) == sorted(nodes)
    for answers in won.values():  # every worker was told the one real holder
        assert answers == [(node, holders[node]) for node in nodes]


def test_a_free_lease_is_given_to_the_live_worker_serving_the_fewest(hub: ReplicaStore) -> None:
    a = worker(hub, "a")
    for i in range(3):
        a.take(f"busy-{i}", T0)
    worker(hub, "b").take("other", T0)
    given = a.assign("store-new", ["a", "b", "c"], T0 + 1)
    assert given.worker == "c"  # serving none
    assert a.assign("store-new", ["a", "b"], T0 + 2) == given  # it holds: as it stands
    assert a.assign("store-2", ["a", "b", "c"], T0 + 3).worker in {"b", "c"}


def test_a_worker_known_dead_is_taken_from_before_its_lease_runs_out(hub: ReplicaStore) -> None:
    a, b = worker(hub, "a"), worker(hub, "b")
    a.take("store-1", T0)
    assert b.take("store-1", T0 + 1, dead={"c"}).worker == "a"  # a is not dead
    assert b.take("store-1", T0 + 1, dead={"a"}).worker == "b"
    assert b.assign("store-1", ["b"], T0 + 2, dead={"a"}).worker == "b"
    assert a.renew(T0 + 3) == {}  # a, should it come back, learns it lost the node
