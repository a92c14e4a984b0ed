"""The replica store contract, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable

from domain.registry import REGISTRY
from sync_protocol.store import ReplicaStore
from tests.sync.replicas import catalog_of, receive, stock_of

MakeStore = Callable[..., ReplicaStore]


def test_local_writes_get_gapless_sequence_numbers(make_store: MakeStore) -> None:
    store = make_store("store-1")
    for qty in (5, 3, 2):
        receive(store, "A", qty)
    assert [op.seq for op in store.all_ops()] == [1, 2, 3]
    assert store.version_vector() == {"store-1": 3}


def test_a_write_and_its_op_commit_together_or_not_at_all(make_store: MakeStore) -> None:
    store = make_store("store-1")
    try:
        with store.write() as txn:
            txn.append(
                "stock.moved",
                {"sku": "A", "location": "store-1", "qty": 5, "reason": "receive"},
                "t",
            )
            raise RuntimeError("power cut")
    except RuntimeError:
        pass
    assert store.count_ops() == 0
    assert stock_of(store) == {}


def test_applying_the_same_ops_twice_changes_nothing(make_store: MakeStore) -> None:
    source = make_store("store-1", url="sqlite://")
    receive(source, "A", 5)
    receive(source, "A", -2)
    target = make_store("cloud")
    first = target.apply(source.all_ops())
    again = target.apply(source.all_ops())
    assert len(first.applied) == 2 and again.duplicates == 2 and not again.applied
    assert stock_of(target) == {("A", "store-1"): 3}


def test_an_op_after_a_gap_is_held_until_the_gap_fills(make_store: MakeStore) -> None:
    source = make_store("store-1", url="sqlite://")
    for qty in (1, 2, 4):
        receive(source, "A", qty)
    one, two, three = source.all_ops()
    target = make_store("cloud")
    target.apply([one, three])
    assert target.version_vector() == {"store-1": 1}
    assert target.gaps() == {"store-1": (2, 2)}
    assert stock_of(target) == {("A", "store-1"): 1}
    target.apply([two])
    assert target.version_vector() == {"store-1": 3}
    assert target.gaps() == {} and target.pending_count() == 0
    assert stock_of(target) == {("A", "store-1"): 7}


def test_rebuilding_projections_from_ops_gives_the_live_tables(make_store: MakeStore) -> None:
    store = make_store("store-1")
    receive(store, "A", 10)
    receive(store, "B", 4)
    receive(store, "A", -3)
    with store.write() as txn:
        txn.append(
            "catalog.item_set", {"sku": "A", "fields": {"name": "矿泉水", "price_fen": 200}}, "t"
        )
        txn.append("catalog.item_set", {"sku": "A", "fields": {"price_fen": 250}}, "t")
    live_stock, live_catalog = stock_of(store), catalog_of(store)
    store.rebuild_projections()
    assert stock_of(store) == live_stock == {("A", "store-1"): 7, ("B", "store-1"): 4}
    assert catalog_of(store) == live_catalog == {"A": {"name": "矿泉水", "price_fen": 250}}


def test_replicas_holding_the_same_ops_have_the_same_range_checksum(make_store: MakeStore) -> None:
    source = make_store("store-1", url="sqlite://")
    for qty in range(1, 6):
        receive(source, "A", qty)
    target = make_store("cloud")
    target.apply(source.all_ops()[:4])
    assert target.range_checksum("store-1", 1, 4) == source.range_checksum("store-1", 1, 4)
    assert target.range_checksum("store-1", 1, 5) != source.range_checksum("store-1", 1, 5)


def test_concurrent_appliers_store_each_op_once(make_store: MakeStore, replica_url: str) -> None:
    source = make_store("store-1", url="sqlite://")
    for _ in range(50):
        receive(source, "A", 1)
    ops = source.all_ops()
    target = make_store("cloud")
    # A second store object on the same database plays a second hub worker.
    twin = ReplicaStore(replica_url, origin="cloud", registry=REGISTRY)
    try:
        workers = [threading.Thread(target=s.apply, args=(ops,)) for s in (target, twin)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert target.count_ops() == 50
        assert stock_of(target) == {("A", "store-1"): 50}
    finally:
        twin.close()


def test_ops_after_pages_by_count(make_store: MakeStore) -> None:
    store = make_store("store-1")
    for _ in range(7):
        receive(store, "A", 1)
    page = store.ops_after({"store-1": 2}, limit=3)
    assert [op.seq for op in page] == [3, 4, 5]


def test_peer_acknowledgements_survive_a_restart(make_store: MakeStore, replica_url: str) -> None:
    store = make_store("cloud")
    store.save_peer("store-1", vv={"store-1": 42}, seen_ms=1, ack_ms=2)
    reopened = ReplicaStore(replica_url, origin="cloud", registry=REGISTRY)
    try:
        assert reopened.peer_state("store-1").vv == {"store-1": 42}
    finally:
        reopened.close()


def test_incidents_of_one_kind_from_one_source_are_counted_in_one_row(
    make_store: MakeStore,
) -> None:
    store = make_store("cloud")
    for n in range(50):
        store.record_incident(
            disposition="rejected", kind="bad_seal", reason=f"seal {n}", peer="store-1", at_ms=n
        )
    store.record_incident(disposition="rejected", kind="bad_seal", reason="x", peer="store-2")
    rows = store.incidents()
    assert [(r["peer"], r["count"]) for r in rows] == [("store-2", 1), ("store-1", 50)]
    first = rows[1]
    assert (first["at_ms"], first["last_ms"], first["reason"]) == (0, 49, "seal 0")
