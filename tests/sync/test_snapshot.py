"""A new or very stale node starts from the hub's signed snapshot and syncs on: its
projections then equal those of a replica that applied every op; a forged, altered or
misdirected snapshot is refused; a node holding anything the hub lacks is never
overwritten; equivocation is still found after; the hub keeps every op.

Nodes are real SQLite files; the hub runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from domain.registry import REGISTRY
from edge.bootstrap import reason_to_start_over
from sync_protocol import snapshot
from sync_protocol.errors import NodeNotReady, SnapshotRejected
from sync_protocol.messages import Hello, seal
from sync_protocol.origins import HUB
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from sync_protocol.store.compaction import REBUILD_HOLD, Retention, compact, floors, mark_archive
from tests.sync.star import Star, projections, sell, set_price


@dataclass
class Shop:
    """The hub and its key; nodes are made with `node()`."""

    hub: ReplicaStore
    hub_key: NodeKey
    base: Path
    made: list[ReplicaStore]

    def node(self, node_id: str, key: NodeKey | None = None, *, file: str = "") -> ReplicaStore:
        key = key or NodeKey.generate()
        path = self.base / (file or f"{node_id}.db")
        store = ReplicaStore(f"sqlite:///{path}", origin=node_id, key=key, registry=REGISTRY)
        self.hub.enroll(node_id, key.public_b64)
        store.enroll(HUB, self.hub_key.public_b64)
        self.made.append(store)
        return store

    def snapshot_for(self, node: ReplicaStore) -> bytes:
        held = {o: seq for o, (seq, _) in node.head_links().items()}
        return snapshot.take(
            self.hub, origins=[HUB, node.origin], for_node=node.origin, key=self.hub_key, held=held
        )

    def start_over(self, node: ReplicaStore, data: bytes | None = None) -> snapshot.Installed:
        snap = snapshot.read(
            data if data is not None else self.snapshot_for(node),
            signer=HUB,
            public_key_b64=self.hub_key.public_b64,
            for_node=node.origin,
            registry=REGISTRY,
        )
        return snapshot.install(node, snap)

    def full_replay(self, node_id: str) -> ReplicaStore:
        """A replica that applied, one by one, every op the hub relays to `node_id`."""
        key = NodeKey.generate()
        replay = ReplicaStore("sqlite://", origin=node_id, key=key, registry=REGISTRY)
        self.made.append(replay)
        for origin in (HUB, node_id):
            replay.apply(self.hub.ops_range(origin, 1, self.hub.head(origin)))
        return replay


@pytest.fixture
def shop(make_store: Callable[..., ReplicaStore], tmp_path: Path) -> Iterator[Shop]:
    hub_key = NodeKey.generate()
    hub = make_store(HUB, key=hub_key)
    mark_archive(hub)
    made: list[ReplicaStore] = []
    yield Shop(hub, hub_key, tmp_path, made)
    for store in made:
        store.close()


def busy_history(shop: Shop, star: Star) -> None:
    """HQ reprices 30 times, the store sells 40 times, another store sells too."""
    other = shop.node("store-9")
    for price in range(300, 330):
        set_price(shop.hub, "COLA", price)
    set_price(shop.hub, "TEA", 500)
    sell(star.node, "COLA", 25)
    sell(star.node, "TEA", 15)
    sell(other, "COLA", 7)
    star.sync()
    shop.hub.apply(other.all_ops())


def test_a_new_node_from_a_snapshot_and_later_ops_equals_a_full_replay(shop: Shop) -> None:
    key = NodeKey.generate()
    old = shop.node("store-1", key, file="lost.db")
    busy_history(shop, Star(shop.hub, old))
    # The store's ledger is lost with no backup: a new ledger under the same identity.
    new = shop.node("store-1", key, file="new.db")
    done = shop.start_over(new)
    assert done.heads == {HUB: 31, "store-1": 80}
    assert new.count_ops() == 0 and floors(new) == {HUB: 31, "store-1": 80}
    star = Star(shop.hub, new)
    set_price(shop.hub, "COLA", 333)
    sell(new, "COLA", 3)  # continues at seq 81, never reusing one
    star.sync()
    assert new.head("store-1") == 86 and shop.hub.head("store-1") == 86
    assert shop.hub.blocked_origins() == [] and new.blocked_origins() == []
    assert projections(new) == projections(shop.full_replay("store-1"))
    # Only the origins relayed to it: store-9's sales are not in store-1's projections.
    assert all("store-9" not in str(rows) for rows in projections(new).values())


def test_a_stale_node_starts_over_and_keeps_its_own_history(shop: Shop) -> None:
    node = shop.node("store-1")
    star = Star(shop.hub, node)
    sell(node, "COLA", 5)
    set_price(shop.hub, "COLA", 300)
    star.sync()
    for price in range(301, 501):  # the store was away while HQ wrote 200 ops
        set_price(shop.hub, "COLA", price)
    shop.start_over(node)
    assert node.head(HUB) == 201 and node.head("store-1") == 10
    sell(node, "COLA", 1)
    set_price(shop.hub, "TEA", 600)
    star.sync()
    assert projections(node) == projections(shop.full_replay("store-1"))
    assert shop.hub.head("store-1") == 12 and shop.hub.blocked_origins() == []


def test_a_node_holding_ops_the_hub_lacks_is_not_overwritten(shop: Shop) -> None:
    node = shop.node("store-1")
    star = Star(shop.hub, node)
    sell(node, "COLA", 2)
    star.sync()
    sell(node, "COLA", 1)  # seqs 5, 6: only this node holds them
    before = projections(node)
    with pytest.raises(SnapshotRejected, match="lose ops the hub lacks"):
        shop.start_over(node)
    assert [op.seq for op in node.ops_range("store-1", 1, 6)] == [1, 2, 3, 4, 5, 6]
    assert projections(node) == before and snapshot.installed(node) is None


def test_a_node_whose_history_differs_from_the_hubs_is_not_overwritten(shop: Shop) -> None:
    key = NodeKey.generate()
    node = shop.node("store-1", key)
    other_copy = shop.node("store-1", key, file="other-copy.db")
    sell(other_copy, "COLA", 2)  # the hub holds this history of store-1 …
    shop.hub.apply(other_copy.all_ops())
    sell(node, "TEA", 1)  # … and the node another one under seqs 1, 2
    with pytest.raises(SnapshotRejected, match="not proven"):
        shop.start_over(node)
    assert [op.body["sku"] for op in node.ops_range("store-1", 2, 2)] == ["TEA"]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda data: data[:-1] + bytes([data[-1] ^ 1]), id="body-altered"),
        pytest.param(lambda data: data[:20] + bytes([data[20] ^ 1]) + data[21:], id="sig-altered"),
        pytest.param(lambda data: data[:50], id="truncated"),
        pytest.param(lambda data: b"SFSNAP2\n" + data[8:], id="not-a-snapshot"),
    ],
)
def test_a_tampered_snapshot_is_refused_and_changes_nothing(
    shop: Shop, tamper: Callable[[bytes], bytes]
) -> None:
    node = shop.node("store-1")
    set_price(shop.hub, "COLA", 300)
    data = shop.snapshot_for(node)
    with pytest.raises(SnapshotRejected):
        shop.start_over(node, tamper(data))
    assert node.version_vector() == {} and snapshot.installed(node) is None


def test_a_snapshot_signed_by_another_key_is_refused(shop: Shop) -> None:
    node = shop.node("store-1")
    set_price(shop.hub, "COLA", 300)
    forged = snapshot.take(shop.hub, origins=[HUB], for_node="store-1", key=NodeKey.generate())
    with pytest.raises(SnapshotRejected, match="signature"):
        shop.start_over(node, forged)
    assert node.version_vector() == {}


def test_a_snapshot_for_another_node_is_refused(shop: Shop) -> None:
    node = shop.node("store-1")
    shop.node("store-2")
    set_price(shop.hub, "COLA", 300)
    theirs = snapshot.take(shop.hub, origins=[HUB, "store-2"], for_node="store-2", key=shop.hub_key)
    with pytest.raises(SnapshotRejected, match="store-2"):
        shop.start_over(node, theirs)


def test_after_starting_over_equivocation_is_still_found(shop: Shop) -> None:
    node = shop.node("store-1")
    for price in range(300, 310):
        set_price(shop.hub, "COLA", price)
    shop.start_over(node)
    star = Star(shop.hub, node)
    star.sync()
    session = star.node_side
    session.connect(star.now)
    other = Hello(HUB, {HUB: 10}, {HUB: "f" * 64})  # another history of the hub's stream
    session.receive(seal(other, shop.hub_key, session="w2", counter=1, re=session.nonce), star.now)
    assert node.is_blocked(HUB)


def test_taking_snapshots_changes_nothing_at_the_hub(shop: Shop) -> None:
    node = shop.node("store-1")
    busy_history(shop, Star(shop.hub, node))
    held = shop.hub.count_ops()
    checksum = shop.hub.range_checksum("store-1", 1, shop.hub.head("store-1"))
    shop.snapshot_for(node)
    assert shop.hub.count_ops() == held == 31 + 80 + 14
    assert shop.hub.range_checksum("store-1", 1, 80) == checksum


def test_a_compacted_ledger_never_rebuilds_from_what_it_still_holds(shop: Shop) -> None:
    """Folding only the ops left after compaction would give projections that look
    right and are not: the ledger keeps them, holds writes, and waits for a snapshot."""
    node = shop.node("store-1")
    star = Star(shop.hub, node)
    set_price(shop.hub, "COLA", 300)
    sell(node, "COLA", 5)
    star.sync()
    compact(node, HUB, Retention(keep_days=0))
    before = projections(node)
    node.rebuild_projections()  # what an upgrade that reshapes an area's tables does
    assert projections(node) == before
    assert node.local_writes_held == REBUILD_HOLD
    with pytest.raises(NodeNotReady):
        sell(node, "COLA", 1)
    assert reason_to_start_over(node, 50_000) == "rebuild"
    shop.start_over(node)
    assert reason_to_start_over(node, 50_000) is None
    assert projections(node) == projections(shop.full_replay("store-1"))
