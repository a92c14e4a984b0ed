"""A node forgets the ops the hub has acknowledged, within its retention, and keeps
their effects: projections and heads stay, chain links and equivocation checks still
work, nothing the hub lacks is ever deleted, and a request below the compaction floor
is refused rather than answered with a hole. The hub (the archive) never compacts.

The node is a real SQLite file; the hub runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from domain.registry import REGISTRY
from sync_protocol.errors import ConfigurationError
from sync_protocol.hlc import system_ms
from sync_protocol.messages import Hello, seal
from sync_protocol.origins import HUB
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from sync_protocol.store.compaction import DAY_MS, Retention, compact, floors, mark_archive
from tests.sync.star import Star, projections, sell, set_price

NOW_ONLY = Retention(keep_days=0)  # everything acknowledged may go


@pytest.fixture
def star(make_store: Callable[..., ReplicaStore], tmp_path: Path) -> Iterator[Star]:
    hub = make_store(HUB)
    mark_archive(hub)
    assert hub.key is not None
    node_key = NodeKey.generate()
    node = ReplicaStore(
        f"sqlite:///{tmp_path / 'ledger.db'}", origin="store-1", key=node_key, registry=REGISTRY
    )
    hub.enroll("store-1", node_key.public_b64)
    node.enroll(HUB, hub.key.public_b64)
    yield Star(hub, node)
    node.close()


def synced_shop(star: Star) -> None:
    """Five catalog writes at HQ and 30 sales (60 ops) at the store, all synced."""
    for price in range(300, 305):
        set_price(star.hub, "COLA", price)
    sell(star.node, "COLA", 30)
    star.sync()
    assert star.hub.head("store-1") == 60 and star.node.head(HUB) == 5


def test_acknowledged_ops_go_and_the_projections_stay(star: Star) -> None:
    synced_shop(star)
    before = projections(star.node)
    report = compact(star.node, HUB, NOW_ONLY)
    assert report.deleted == {"store-1": 60, HUB: 5}
    assert floors(star.node) == {"store-1": 60, HUB: 5}
    assert star.node.count_ops() == 0
    assert projections(star.node) == before
    assert star.node.version_vector() == {"store-1": 60, HUB: 5}
    assert star.hub.count_ops() == 65  # the archive keeps them


def test_ops_the_hub_has_not_acknowledged_are_never_deleted(star: Star) -> None:
    synced_shop(star)
    sell(star.node, "COLA", 10)  # ops 61..80, not synced
    compact(star.node, HUB, Retention(keep_days=0, max_ops=1000))
    compact(star.node, HUB, Retention(keep_days=0, max_ops=1))  # the cap cannot force it
    assert [op.seq for op in star.node.ops_range("store-1", 61, 80)] == list(range(61, 81))
    star.sync()
    assert star.hub.head("store-1") == 80
    assert star.hub.range_checksum("store-1", 61, 80) != ""
    assert [op.seq for op in star.hub.ops_range("store-1", 1, 80)] == list(range(1, 81))


def test_after_compaction_new_ops_chain_on_and_the_hub_takes_them(star: Star) -> None:
    synced_shop(star)
    compact(star.node, HUB, NOW_ONLY)
    sell(star.node, "COLA", 2)
    set_price(star.hub, "COLA", 399)
    star.sync()
    assert star.hub.head("store-1") == 64 and star.node.head(HUB) == 6
    assert star.hub.blocked_origins() == [] and star.node.blocked_origins() == []
    assert star.hub.head_links()["store-1"] == star.node.head_links()["store-1"]


def test_young_ops_stay_for_the_retention_days(star: Star) -> None:
    synced_shop(star)
    assert compact(star.node, HUB, Retention(keep_days=14)).total == 0
    later = system_ms() + 15 * DAY_MS
    assert compact(star.node, HUB, Retention(keep_days=14), now_ms=later).total == 65


def test_past_the_cap_the_oldest_acknowledged_ops_go_even_when_young(star: Star) -> None:
    synced_shop(star)
    report = compact(star.node, HUB, Retention(keep_days=14, max_ops=20))
    assert report.total == 45
    assert star.node.count_ops() == 20
    held = star.node.ops_range("store-1", 46, 60)
    assert [op.seq for op in held] == list(range(46, 61))  # the newest stayed


def test_a_hub_that_says_it_holds_less_stops_compaction_there(star: Star) -> None:
    synced_shop(star)
    # The hub came back from an old backup and said so in its hello.
    star.node.save_peer(HUB, vv={"store-1": 20, HUB: 5})
    compact(star.node, HUB, NOW_ONLY)
    assert floors(star.node)["store-1"] == 20
    assert [op.seq for op in star.node.ops_range("store-1", 21, 60)] == list(range(21, 61))


def test_deleting_in_small_batches_gives_the_same_result(star: Star) -> None:
    synced_shop(star)
    report = compact(star.node, HUB, Retention(keep_days=0, batch=7, pause_s=0))
    assert report.deleted == {"store-1": 60, HUB: 5}
    assert star.node.count_ops() == 0


def test_nothing_to_do_costs_no_write(star: Star) -> None:
    synced_shop(star)
    compact(star.node, HUB, NOW_ONLY)
    writes: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        writes.append(statement)

    event.listen(star.node.engine, "before_cursor_execute", note)
    try:
        assert compact(star.node, HUB, NOW_ONLY).total == 0
    finally:
        event.remove(star.node.engine, "before_cursor_execute", note)
    assert writes == []


def test_asking_below_the_floor_is_refused_not_answered_with_a_hole(star: Star) -> None:
    synced_shop(star)
    sell(star.node, "COLA", 1)  # 61, 62: held
    compact(star.node, HUB, NOW_ONLY)
    assert star.node.ops_after({"store-1": 10}, origins={"store-1"}) == []
    assert star.node.ops_range("store-1", 5, 62) == []
    assert [op.seq for op in star.node.ops_after({"store-1": 60, HUB: 5})] == [61, 62]
    (incident,) = [i for i in star.node.incidents() if i["kind"] == "compacted_away"]
    assert incident["origin"] == "store-1" and incident["count"] == 2


def test_equivocation_is_still_found_at_a_compacted_head(star: Star) -> None:
    """The hub's hello carries its chain link at its head; the node no longer holds that
    op, yet still compares (the head keeps its link) and blocks a different history."""
    synced_shop(star)
    compact(star.node, HUB, NOW_ONLY)
    assert star.hub.key is not None
    session = star.node_side
    session.connect(star.now)
    forged_history = Hello(HUB, {HUB: 5, "store-1": 60}, {HUB: "0" * 64})
    hello = seal(forged_history, star.hub.key, session="hub-2", counter=1, re=session.nonce)
    session.receive(hello, star.now + 1)
    assert star.node.is_blocked(HUB)
    assert any(i["kind"] == "equivocation" for i in star.node.incidents())


def test_the_hub_never_compacts(star: Star) -> None:
    synced_shop(star)
    with pytest.raises(ConfigurationError):
        compact(star.hub, "store-1", NOW_ONLY)
    assert star.hub.count_ops() == 65
