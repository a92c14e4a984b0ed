"""The sans-I/O session, driven by hand: messages in, messages out."""

from __future__ import annotations

import pytest

from domain.registry import REGISTRY
from sync_protocol.messages import Ack, Hello, Need, OpsPage
from sync_protocol.ops import Op
from sync_protocol.session import SessionConfig, SyncSession, only_from, only_from_origin
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from tests.sync.replicas import receive, stock_of

CONFIG = SessionConfig(page_ops=3, resend_after=2.0, heartbeat_every=10.0)


@pytest.fixture
def pair() -> tuple[ReplicaStore, ReplicaStore, NodeKey]:
    node_key, hub_key = NodeKey.generate(), NodeKey.generate()
    node = ReplicaStore("sqlite://", origin="store-1", key=node_key, registry=REGISTRY)
    hub = ReplicaStore("sqlite://", origin="cloud", key=hub_key, registry=REGISTRY)
    hub.enroll("store-1", node_key.public_b64)
    node.enroll("cloud", hub_key.public_b64)
    return node, hub, node_key


def node_session(node: ReplicaStore) -> SyncSession:
    return SyncSession(
        node, "cloud", offer={"store-1"}, accept=only_from({"cloud", "store-1"}), config=CONFIG
    )


def hub_session(hub: ReplicaStore) -> SyncSession:
    return SyncSession(
        hub,
        "store-1",
        offer={"cloud", "store-1"},
        accept=only_from_origin("store-1"),
        config=CONFIG,
    )


def test_connect_says_hello_with_the_version_vector(
    pair: tuple[ReplicaStore, ReplicaStore, NodeKey],
) -> None:
    node, _, _ = pair
    receive(node, "A", 1)
    assert node_session(node).connect(0.0) == [Hello("store-1", {"store-1": 1})]


def test_hello_is_answered_with_an_ack_and_the_ops_the_peer_lacks(
    pair: tuple[ReplicaStore, ReplicaStore, NodeKey],
) -> None:
    _, hub, _ = pair
    with hub.write() as txn:
        txn.append("catalog.item_set", {"sku": "A", "fields": {"name": "可乐"}}, "hq")
    out = hub_session(hub).receive(Hello("store-1", {}), 0.0)
    assert isinstance(out[0], Ack)
    assert isinstance(out[1], OpsPage) and [op.kind for op in out[1].ops] == ["catalog.item_set"]


def test_ops_go_one_page_at_a_time_until_acked(
    pair: tuple[ReplicaStore, ReplicaStore, NodeKey],
) -> None:
    node, hub, _ = pair
    for _ in range(5):
        receive(node, "A", 1)
    session = node_session(node)
    session.connect(0.0)
    first = session.receive(Ack("cloud", {}), 0.1)
    assert len(first) == 1 and isinstance(first[0], OpsPage) and len(first[0].ops) == 3
    assert session.local_changes(0.2) == []  # still in flight
    ack = hub_session(hub).receive(first[0], 0.3)
    second = session.receive(ack[0], 0.4)
    assert isinstance(second[0], OpsPage) and [op.seq for op in second[0].ops] == [4, 5]


def test_an_unacked_page_is_sent_again_after_the_resend_timeout(
    pair: tuple[ReplicaStore, ReplicaStore, NodeKey],
) -> None:
    node, _, _ = pair
    receive(node, "A", 1)
    session = node_session(node)
    session.connect(0.0)
    session.receive(Ack("cloud", {}), 0.0)
    assert session.tick(1.0) == []
    again = session.tick(2.5)
    assert isinstance(again[0], Hello)
    assert isinstance(again[1], OpsPage) and again[1].ops[0].seq == 1


def test_a_reconnect_resends_everything_unacked(
    pair: tuple[ReplicaStore, ReplicaStore, NodeKey],
) -> None:
    node, _, _ = pair
    receive(node, "A", 1)
    receive(node, "A", 1)
    session = node_session(node)
    session.connect(0.0)
    session.receive(Ack("cloud", {"store-1": 1}), 0.0)
    session.disconnect()
    session.connect(5.0)
    resent = session.receive(Ack("cloud", {"store-1": 1}), 5.1)
    assert [op.seq for op in resent[0].ops] == [2]  # type: ignore[union-attr]
    assert session.unacked() == 1


def test_a_forged_op_is_rejected_and_recorded_and_good_ops_still_apply(
    pair: tuple[ReplicaStore, ReplicaStore, NodeKey],
) -> None:
    node, hub, _ = pair
    receive(node, "A", 2)
    good = node.all_ops()[0]
    forger = NodeKey.generate()
    forged = forger.sign(
        Op(
            "store-1",
            2,
            good.hlc + 1,
            "stock.moved",
            1,
            "x",
            {"sku": "A", "location": "store-1", "qty": 1000, "reason": "receive"},
        )
    )
    out = hub_session(hub).receive(OpsPage("store-1", [good, forged]), 1.0)
    assert out == [Ack("cloud", {"store-1": 1})]
    assert stock_of(hub) == {("A", "store-1"): 2}
    incident = hub.incidents()[0]
    assert incident["disposition"] == "rejected" and "signature" in incident["reason"]


def test_a_node_cannot_publish_another_nodes_ops(
    pair: tuple[ReplicaStore, ReplicaStore, NodeKey],
) -> None:
    _, hub, _ = pair
    other_key = NodeKey.generate()
    hub.enroll("store-2", other_key.public_b64)
    other = other_key.sign(
        Op(
            "store-2",
            1,
            5,
            "stock.moved",
            1,
            "x",
            {"sku": "A", "location": "store-2", "qty": 1, "reason": "receive"},
        )
    )
    hub_session(hub).receive(OpsPage("store-1", [other]), 1.0)
    assert hub.count_ops() == 0
    assert "did not create it" in hub.incidents()[0]["reason"]


def test_a_gap_is_asked_for_with_need(pair: tuple[ReplicaStore, ReplicaStore, NodeKey]) -> None:
    node, hub, _ = pair
    for _ in range(3):
        receive(node, "A", 1)
    _, _, third = node.all_ops()
    out = hub_session(hub).receive(OpsPage("store-1", [third]), 1.0)
    assert Need("cloud", {"store-1": (1, 2)}) in out
    answer = node_session(node).receive(Need("cloud", {"store-1": (1, 2)}), 1.1)
    assert [op.seq for op in answer[0].ops] == [1, 2]  # type: ignore[union-attr]


def test_a_replayed_old_page_is_ignored(pair: tuple[ReplicaStore, ReplicaStore, NodeKey]) -> None:
    node, hub, _ = pair
    receive(node, "A", 3)
    page = OpsPage("store-1", node.all_ops())
    session = hub_session(hub)
    session.receive(page, 1.0)
    session.receive(page, 2.0)
    assert hub.count_ops() == 1 and session.stats.duplicates == 1
    assert stock_of(hub) == {("A", "store-1"): 3}
