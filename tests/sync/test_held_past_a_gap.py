"""Ops a replica holds past a gap, and a node restored from an old backup while the hub
holds some of its ops that way: three bugs of sync_protocol found by the simulation
(`shopfloor sim --seed 3`: a seq reused under the hold; `--seed 2`: a history joined
in silence; `--seed 470 --nodes 2 --writes 6`: an equivocation lost).

The story: store-1 wrote seqs 1–4; the page with seq 3 was lost on the way, so the hub
holds 1–2 and, past the gap, 4. The Pi died before it sent 3 again, and came back from
a backup of seq 1: op 3 is gone for good. The hub's word to the restored node counts
heads only (2), so the node resumes at once and writes a new seq 3 — and the hub joins
its old seq 4, signed after the lost seq 3, onto the new one: a history store-1 never
wrote, taken in silence (the simulation sees its clock run back at seq 4), or, when the
node writes a new seq 4 too, an equivocation the hold was there to prevent. And when
the new ops come in one page with the seq below the gap, the held op is dropped unseen.

The fixes (docs/decisions.md, "Ops held past a gap"): a hello or an ack says what its
sender holds past a gap, and a restored node resumes only above all of it, or stays
held, with an incident, until a person decides; an op held past a gap keeps the chain
link its page said came before it, and is compared with whatever fills its seq or the
gap before it: a difference is an equivocation, blocked and recorded.
"""

from __future__ import annotations

import pytest

from domain.registry import REGISTRY
from sync_protocol.errors import NodeNotReady
from sync_protocol.messages import Hello, Message, decode, encode
from sync_protocol.session import SessionConfig, SyncSession, only_from, only_from_origin
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from tests.sync.replicas import receive

NODE = "store-1"
HELD = "restored from a backup; replaying own ops from the hub"


def store(origin: str, key: NodeKey) -> ReplicaStore:
    return ReplicaStore("sqlite://", origin=origin, key=key, registry=REGISTRY)


@pytest.fixture
def world() -> tuple[ReplicaStore, ReplicaStore, ReplicaStore]:
    """(hub holding 1–2 and 4 past the gap, the lost ledger, the node restored at 1)."""
    key, hub_key = NodeKey.generate(), NodeKey.generate()
    hub, lost, restored = store("cloud", hub_key), store(NODE, key), store(NODE, key)
    for s in (hub, lost, restored):
        s.enroll(NODE, key.public_b64)
        s.enroll("cloud", hub_key.public_b64)
    for qty in (1, 2, 3, 4):
        receive(lost, "A", qty)
    hub.apply(lost.ops_range(NODE, 1, 2))
    # The page that carried seq 4 alone says the link before it: the lost seq 3's.
    hub.apply(lost.ops_range(NODE, 4, 4), after=lost.chain_links({NODE: 3}))
    assert hub.head(NODE) == 2 and hub.pending_count() == 1
    restored.apply(lost.ops_range(NODE, 1, 1))  # the backup
    restored.local_writes_held = HELD
    return hub, lost, restored


def sync(hub: ReplicaStore, node: ReplicaStore) -> SyncSession:
    """Hub and node talk for 10 s, heartbeats included; the node reconciles its hold
    after every message, as edge/sync_agent.py does. Returns the node's session."""
    config = SessionConfig(resend_after=1.0, heartbeat_every=3.0)
    mine = SyncSession(
        node, "cloud", offer={NODE}, accept=only_from({"cloud", NODE}), config=config
    )
    theirs = SyncSession(
        hub, NODE, offer={"cloud", NODE}, accept=only_from_origin(NODE), config=config
    )
    to_hub: list[Message] = mine.connect(0.0)
    to_node: list[Message] = theirs.connect(0.0)
    now = 0.0
    for _ in range(100):  # 10 s: three heartbeats
        now += 0.1
        to_hub += mine.tick(now)
        to_node += theirs.tick(now)
        for msg in to_node:
            to_hub += mine.receive(decode(encode(msg)), now)
            mine.reconcile_restore(now)
        to_node = []
        for msg in to_hub:
            to_node += theirs.receive(decode(encode(msg)), now)
        to_hub = []
    return mine


def test_a_restored_node_stays_held_while_the_hub_holds_its_ops_past_a_gap(
    world: tuple[ReplicaStore, ReplicaStore, ReplicaStore],
) -> None:
    hub, _, node = world
    sync(hub, node)
    assert node.head(NODE) == 2
    assert node.local_writes_held is not None  # it holds less than the hub: 4 is taken
    with pytest.raises(NodeNotReady):
        receive(node, "A", 30)


def test_a_restored_node_held_past_a_gap_says_a_person_must_decide(
    world: tuple[ReplicaStore, ReplicaStore, ReplicaStore],
) -> None:
    hub, _, node = world
    sync(hub, node)
    assert node.local_writes_held is not None and "person must decide" in node.local_writes_held
    [incident] = [i for i in node.incidents() if i["kind"] == "restore_gap"]
    assert (incident["disposition"], incident["origin"], incident["seq"]) == ("held", NODE, 3)
    assert "up to seq 4" in incident["reason"] and "A person must decide" in incident["reason"]


def test_a_till_held_for_a_person_tells_the_cashier_to_fetch_the_manager(
    world: tuple[ReplicaStore, ReplicaStore, ReplicaStore],
) -> None:
    hub, _, node = world
    sync(hub, node)
    with pytest.raises(NodeNotReady) as held:
        receive(node, "A", 30)
    assert "须由店长处理" in held.value.message_zh and "请稍后再试" not in held.value.message_zh


def test_a_restored_node_that_can_fill_the_gap_resumes_above_everything_the_hub_holds(
    world: tuple[ReplicaStore, ReplicaStore, ReplicaStore],
) -> None:
    hub, lost, node = world
    node.apply(lost.ops_range(NODE, 2, 3))  # a newer backup: it still has seq 3
    sync(hub, node)
    assert hub.head(NODE) == node.head(NODE) == 4 and hub.pending_count() == 0
    assert node.local_writes_held is None
    receive(node, "A", 5)
    assert node.head(NODE) == 5


def test_a_hello_says_what_the_sender_holds_past_a_gap_under_its_seal(
    world: tuple[ReplicaStore, ReplicaStore, ReplicaStore],
) -> None:
    hub, lost, _ = world
    session = SyncSession(hub, NODE, offer={"cloud", NODE}, accept=only_from_origin(NODE))
    [hello] = session.connect(0.0)
    said = decode(encode(hello))
    assert isinstance(said, Hello) and said.seal is not None
    assert said.held == {NODE: (4, lost.chain_links({NODE: 4})[NODE])}
    hub.keyring().verify_bytes("cloud", said.seal.signed, said.seal.sig)  # raises if not


def test_a_node_whose_own_history_differs_from_what_the_hub_holds_past_a_gap_blocks_itself(
    world: tuple[ReplicaStore, ReplicaStore, ReplicaStore],
) -> None:
    hub, lost, copied = world
    copied.apply(lost.ops_range(NODE, 2, 2))  # copied back by hand at seq 2, no hold
    copied.local_writes_held = None
    receive(copied, "A", 30)  # a new seq 3 …
    receive(copied, "A", 40)  # … and 4, where the hub holds the old 4 past the gap
    sync(hub, copied)
    assert copied.is_blocked(NODE) and hub.is_blocked(NODE)
    assert hub.ops_range(NODE, 3, 4) == []


def test_an_op_held_past_a_gap_is_not_joined_to_another_history(
    world: tuple[ReplicaStore, ReplicaStore, ReplicaStore],
) -> None:
    hub, _, node = world
    node.apply(hub.ops_range(NODE, 2, 2))  # catching up on the hub's word, as now
    node.local_writes_held = None
    receive(node, "A", 30)  # a new seq 3, after the lost one
    result = hub.apply(node.ops_range(NODE, 3, 3), after=node.chain_links({NODE: 2}))
    assert hub.ops_range(NODE, 4, 4) == []  # not joined to the new seq 3
    # Two seq-3 ops signed by store-1 (one is known by its link): equivocation.
    assert result.equivocations and hub.is_blocked(NODE)


def test_a_held_op_is_compared_with_the_op_that_fills_its_seq() -> None:
    key = NodeKey.generate()
    hub, first, second = store("cloud", key), store(NODE, key), store(NODE, key)
    receive(first, "A", 1)
    receive(first, "A", 2)  # store-1/2, one history
    second.apply(first.ops_range(NODE, 1, 1))
    receive(second, "A", 20)  # store-1/2, another
    hub.apply(first.ops_range(NODE, 2, 2))  # held: seq 1 is missing
    result = hub.apply(second.ops_range(NODE, 1, 2))
    assert result.equivocations and hub.is_blocked(NODE)


def test_an_op_held_past_a_gap_joins_the_history_its_page_said(
    world: tuple[ReplicaStore, ReplicaStore, ReplicaStore],
) -> None:
    hub, lost, _ = world
    result = hub.apply(lost.ops_range(NODE, 3, 3), after=lost.chain_links({NODE: 2}))
    assert not result.equivocations and hub.head_links([NODE]) == lost.head_links([NODE])
    assert hub.pending_count() == 0


def test_a_held_run_joins_whole_when_its_gap_fills() -> None:
    key = NodeKey.generate()
    hub, node = store("cloud", key), store(NODE, key)
    for qty in (1, 2, 3, 4, 5):
        receive(node, "A", qty)
    hub.apply(node.ops_range(NODE, 3, 5), after=node.chain_links({NODE: 2}))
    hub.apply(node.ops_range(NODE, 1, 2))
    assert hub.head_links([NODE]) == node.head_links([NODE]) and hub.pending_count() == 0


def test_a_page_held_past_earlier_held_ops_must_follow_them(
    world: tuple[ReplicaStore, ReplicaStore, ReplicaStore],
) -> None:
    hub, lost, node = world
    node.apply(hub.ops_range(NODE, 2, 2))
    node.local_writes_held = None
    receive(node, "A", 30)  # a new seq 3
    receive(node, "A", 40)  # and a new seq 4 …
    receive(node, "A", 50)  # … and 5, sent on a page after the hub's held seq 4
    hub.apply(node.ops_range(NODE, 5, 5), after=node.chain_links({NODE: 4}))
    # The lost seq 3 comes at last: it fills the gap under the old seq 4, which joins;
    # the page of seq 5 said another seq 4 came before it.
    result = hub.apply(lost.ops_range(NODE, 3, 3), after=lost.chain_links({NODE: 2}))
    assert result.equivocations and hub.is_blocked(NODE)
    assert hub.head(NODE) == 2
