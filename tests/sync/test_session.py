"""The sans-I/O session, driven by hand: messages in, messages out."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from domain.registry import REGISTRY
from sync_protocol.messages import Ack, Control, Hello, Message, Need, OpsPage, seal
from sync_protocol.ops import Op
from sync_protocol.session import SessionConfig, SyncSession, only_from, only_from_origin
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from tests.sync.replicas import receive, stock_of

CONFIG = SessionConfig(page_ops=3, window_pages=2, resend_after=2.0, heartbeat_every=10.0)


@dataclass
class Pair:
    node: ReplicaStore
    hub: ReplicaStore
    node_key: NodeKey
    hub_key: NodeKey


@pytest.fixture
def pair() -> Pair:
    node_key, hub_key = NodeKey.generate(), NodeKey.generate()
    node = ReplicaStore("sqlite://", origin="store-1", key=node_key, registry=REGISTRY)
    hub = ReplicaStore("sqlite://", origin="cloud", key=hub_key, registry=REGISTRY)
    hub.enroll("store-1", node_key.public_b64)
    node.enroll("cloud", hub_key.public_b64)
    return Pair(node, hub, node_key, hub_key)


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


def sealed(
    msg: Control, key: NodeKey, *, to: SyncSession | None = None, session: str = "p1", n: int = 1
) -> Control:
    """`msg` sealed by `key`; fresh for the session `to` (it answers that nonce)."""
    return seal(msg, key, session=session, counter=n, re=to.nonce if to else None)


def pages(messages: list[Message]) -> list[list[int]]:
    return [[op.seq for op in m.ops] for m in messages if isinstance(m, OpsPage)]


def test_connect_says_a_sealed_hello_with_the_vector_and_its_chain_links(pair: Pair) -> None:
    node = pair.node
    receive(node, "A", 1)
    session = node_session(node)
    (hello,) = session.connect(0.0)
    assert isinstance(hello, Hello) and hello.vv == {"store-1": 1}
    assert hello.links == {"store-1": node.head_links()["store-1"][1]}
    assert hello.seal is not None and hello.seal.session == session.nonce and hello.seal.sig


def test_hello_is_answered_with_an_ack_and_the_ops_the_peer_lacks(pair: Pair) -> None:
    hub = pair.hub
    with hub.write() as txn:
        txn.append("catalog.item_set", {"sku": "A", "fields": {"name": "可乐"}}, "hq")
    session = hub_session(hub)
    out = session.receive(sealed(Hello("store-1", {}), pair.node_key), 0.0)
    assert isinstance(out[0], Ack) and out[0].seal is not None
    assert isinstance(out[1], OpsPage) and [op.kind for op in out[1].ops] == ["catalog.item_set"]


def test_a_window_of_pages_goes_out_and_acks_slide_it(pair: Pair) -> None:
    node, hub = pair.node, pair.hub
    for _ in range(8):
        receive(node, "A", 1)
    session, far_end = node_session(node), hub_session(hub)
    session.connect(0.0)
    first = session.receive(sealed(Ack("cloud", {}), pair.hub_key, to=session), 0.1)
    assert pages(first) == [[1, 2, 3], [4, 5, 6]]  # two pages in flight: the window
    assert session.local_changes(0.2) == []  # the window is full
    ack = far_end.receive(first[0], 0.3)
    assert pages(session.receive(ack[0], 0.4)) == [[7, 8]]


def test_only_the_oldest_unacked_page_is_sent_again_after_the_resend_timeout(
    pair: Pair,
) -> None:
    node = pair.node
    for _ in range(6):
        receive(node, "A", 1)
    session = node_session(node)
    session.connect(0.0)
    session.receive(sealed(Ack("cloud", {}), pair.hub_key, to=session), 0.0)
    assert session.tick(1.0) == []
    again = session.tick(2.5)
    assert isinstance(again[0], Hello)
    assert pages(again) == [[1, 2, 3]]  # not the second page, which may have arrived


def test_a_reconnect_resends_everything_unacked(pair: Pair) -> None:
    node = pair.node
    receive(node, "A", 1)
    receive(node, "A", 1)
    session = node_session(node)
    session.connect(0.0)
    session.receive(sealed(Ack("cloud", {"store-1": 1}), pair.hub_key, to=session), 0.0)
    session.disconnect()
    session.connect(5.0)
    ack = sealed(Ack("cloud", {"store-1": 1}), pair.hub_key, to=session, n=2)
    assert pages(session.receive(ack, 5.1)) == [[2]]
    assert session.unacked() == 1


def test_ops_that_came_from_the_peer_are_never_sent_back_to_it(pair: Pair) -> None:
    node, hub = pair.node, pair.hub
    receive(node, "A", 1)
    session = hub_session(hub)
    session.receive(sealed(Hello("store-1", {}), pair.node_key), 0.0)
    session.receive(OpsPage("store-1", node.all_ops()), 0.1)
    assert session.peer_vv == {"store-1": 1}
    assert pages(session.local_changes(0.2)) == []
    assert pages(session.tick(11.0)) == []  # nor with the heartbeat


def test_an_unsealed_hello_is_refused_and_recorded(pair: Pair) -> None:
    """The drill: `J{"from":"cloud","p":2,"t":"hello","vv":{}}` on the node's topic."""
    session = node_session(pair.node)
    session.connect(0.0)
    assert session.receive(Hello("cloud", {}), 0.1) == []
    assert session.fresh_peer_vv is None and session.heard_from_peer is False
    incident = pair.node.incidents()[0]
    assert incident["kind"] == "unsealed" and incident["disposition"] == "rejected"


def test_a_hello_sealed_by_another_key_is_refused(pair: Pair) -> None:
    session = node_session(pair.node)
    session.connect(0.0)
    forged = sealed(Hello("cloud", {}), NodeKey.generate(), to=session)
    assert session.receive(forged, 0.1) == []
    assert session.fresh_peer_vv is None
    assert pair.node.incidents()[0]["kind"] == "bad_seal"


def test_a_replayed_sealed_message_is_refused(pair: Pair) -> None:
    session = node_session(pair.node)
    session.connect(0.0)
    hello = sealed(Hello("cloud", {}), pair.hub_key, to=session)
    assert session.receive(hello, 0.1) != []
    assert session.receive(hello, 0.2) == []
    assert pair.node.incidents()[0]["kind"] == "replayed"


def test_only_a_fresh_word_from_the_peer_counts_as_what_it_holds_now(pair: Pair) -> None:
    session = node_session(pair.node)
    session.connect(0.0)
    old = sealed(Hello("cloud", {"store-1": 0}), pair.hub_key, session="earlier")
    session.receive(old, 0.1)
    assert session.fresh_peer_vv is None  # a hello of an earlier connection (a replay?)
    answer = sealed(Ack("cloud", {"store-1": 7}), pair.hub_key, to=session, session="now")
    session.receive(answer, 0.2)
    assert session.fresh_peer_vv == {"store-1": 7}


def test_a_hello_with_another_chain_link_blocks_that_origin(pair: Pair) -> None:
    node, hub = pair.node, pair.hub
    receive(node, "A", 1)
    hub.apply(node.all_ops())
    at_hub = hub_session(hub)
    lie = Hello("store-1", {"store-1": 1}, {"store-1": "0" * 64})
    at_hub.receive(sealed(lie, pair.node_key), 0.1)
    assert hub.is_blocked("store-1")
    assert hub.incidents()[0]["kind"] == "equivocation"
    receive(node, "A", 1)
    assert hub.apply(node.ops_range("store-1", 2, 2)).blocked == 1


def test_a_forged_op_is_rejected_and_recorded_and_good_ops_still_apply(
    pair: Pair,
) -> None:
    node, hub = pair.node, pair.hub
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
    assert len(out) == 1 and isinstance(out[0], Ack) and out[0].vv == {"store-1": 1}
    assert stock_of(hub) == {("A", "store-1"): 2}
    incident = hub.incidents()[0]
    assert incident["disposition"] == "rejected" and "signature" in incident["reason"]


def test_a_node_cannot_publish_another_nodes_ops(
    pair: Pair,
) -> None:
    hub = pair.hub
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


def test_a_gap_is_asked_for_with_need(pair: Pair) -> None:
    node, hub = pair.node, pair.hub
    for _ in range(3):
        receive(node, "A", 1)
    _, _, third = node.all_ops()
    out = hub_session(hub).receive(OpsPage("store-1", [third]), 1.0)
    (need,) = [m for m in out if isinstance(m, Need)]
    assert need.ranges == {"store-1": (1, 2)}
    assert pages(node_session(node).receive(need, 1.1)) == [[1, 2]]


def test_a_replayed_old_page_is_ignored(pair: Pair) -> None:
    node, hub = pair.node, pair.hub
    receive(node, "A", 3)
    page = OpsPage("store-1", node.all_ops())
    session = hub_session(hub)
    session.receive(page, 1.0)
    session.receive(page, 2.0)
    assert hub.count_ops() == 1 and session.stats.duplicates == 1
    assert stock_of(hub) == {("A", "store-1"): 3}


def test_a_page_of_the_senders_own_ops_is_taken_on_one_proof(pair: Pair) -> None:
    node, hub = pair.node, pair.hub
    for _ in range(3):
        receive(node, "A", 1)
    sender, far_end = node_session(node), hub_session(hub)
    sender.connect(0.0)
    (page,) = sender.receive(sealed(Ack("cloud", {}), pair.hub_key, to=sender), 0.1)
    assert isinstance(page, OpsPage) and set(page.proof) == {"store-1"}
    far_end.receive(page, 0.2)
    assert far_end.stats.ops_proven == 3 and hub.head("store-1") == 3
    assert hub.head_links() == node.head_links()


def test_an_op_changed_on_the_way_fails_the_proof_and_its_own_signature(pair: Pair) -> None:
    node, hub = pair.node, pair.hub
    for _ in range(3):
        receive(node, "A", 1)
    sender, far_end = node_session(node), hub_session(hub)
    sender.connect(0.0)
    (page,) = sender.receive(sealed(Ack("cloud", {}), pair.hub_key, to=sender), 0.1)
    assert isinstance(page, OpsPage)
    first, second, third = page.ops
    bigger = replace(second, body={**second.body, "qty": 1000})
    far_end.receive(replace(page, ops=[first, bigger, third]), 0.2)
    assert far_end.stats.ops_proven == 0
    assert hub.head("store-1") == 1  # the first applies; the changed one is refused
    assert any(i["kind"] == "bad_signature" for i in hub.incidents())
