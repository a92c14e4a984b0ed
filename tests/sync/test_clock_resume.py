"""The clock never runs backwards: not after a restart with a skewed clock since set
right, and not between two writers of one origin (hub workers)."""

from __future__ import annotations

from pathlib import Path

from domain.registry import REGISTRY
from sync_protocol.hlc import HybridClock, system_ms, wall_ms_of
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from tests.sync.replicas import catalog_of

HOURS_48 = 48 * 3600 * 1000


def clock_at(offset_ms: int) -> HybridClock:
    return HybridClock(physical_ms=lambda: system_ms() + offset_ms)


def set_price(store: ReplicaStore, price: int) -> int:
    with store.write() as txn:
        op = txn.append("catalog.item_set", {"sku": "A", "fields": {"price_fen": price}}, "hq")
    return op.hlc


def test_a_restart_resumes_above_its_own_stamp_from_a_skewed_clock(tmp_path: Path) -> None:
    url, key = f"sqlite:///{tmp_path / 'hq.db'}", NodeKey.generate()
    skewed = ReplicaStore(url, origin="cloud", key=key, clock=clock_at(HOURS_48), registry=REGISTRY)
    first = set_price(skewed, 100)
    skewed.close()
    right = ReplicaStore(url, origin="cloud", key=key, clock=clock_at(0), registry=REGISTRY)
    try:
        second = set_price(right, 200)
        assert second > first
        assert catalog_of(right)["A"]["price_fen"] == 200  # the later write wins
        (flag,) = [i for i in right.incidents() if i["kind"] == "clock_ahead"]
        assert flag["disposition"] == "flagged" and "ahead" in flag["reason"]
    finally:
        right.close()


def test_a_writer_stamps_above_another_writer_of_the_same_origin(tmp_path: Path) -> None:
    url, key = f"sqlite:///{tmp_path / 'hq.db'}", NodeKey.generate()
    ahead = ReplicaStore(url, origin="cloud", key=key, clock=clock_at(HOURS_48), registry=REGISTRY)
    behind = ReplicaStore(url, origin="cloud", key=key, clock=clock_at(0), registry=REGISTRY)
    try:
        first = set_price(ahead, 100)
        second = set_price(behind, 200)
        assert second > first and wall_ms_of(second) >= wall_ms_of(first)
        assert catalog_of(behind)["A"]["price_fen"] == 200
    finally:
        ahead.close()
        behind.close()


def test_a_restart_with_a_right_clock_is_not_flagged(tmp_path: Path) -> None:
    url, key = f"sqlite:///{tmp_path / 'hq.db'}", NodeKey.generate()
    store = ReplicaStore(url, origin="cloud", key=key, registry=REGISTRY)
    set_price(store, 100)
    store.close()
    again = ReplicaStore(url, origin="cloud", key=key, registry=REGISTRY)
    try:
        assert [i for i in again.incidents() if i["kind"] == "clock_ahead"] == []
    finally:
        again.close()
