"""Two different ops under one (origin, seq) are never taken for a duplicate: the
origin is blocked until a person decides (on SQLite and on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import event

from sync_protocol.errors import NodeNotReady
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from tests.sync.replicas import receive, stock_of

MakeStore = Callable[..., ReplicaStore]


@pytest.fixture
def fork(make_store: MakeStore) -> tuple[ReplicaStore, ReplicaStore, ReplicaStore]:
    """The hub, and two histories of store-1 signed with its one key: what a node
    restored from an old backup writes when it resumes before catching up."""
    key = NodeKey.generate()
    hub = make_store("cloud")
    before = make_store("store-1", key=key, url="sqlite://")
    after = make_store("store-1", key=key, url="sqlite://")
    hub.enroll("store-1", key.public_b64)
    receive(before, "A", 5)
    receive(after, "A", 7)
    receive(after, "A", 1)
    return hub, before, after


def test_another_op_under_a_held_seq_blocks_the_origin(
    fork: tuple[ReplicaStore, ReplicaStore, ReplicaStore],
) -> None:
    hub, before, after = fork
    hub.apply(before.all_ops())
    result = hub.apply(after.ops_range("store-1", 1, 1))
    assert result.duplicates == 0 and result.blocked == 1
    (found,) = result.equivocations
    assert (found.origin, found.seq) == ("store-1", 1)
    assert '"qty":5' in found.held and '"qty":7' in found.offered
    assert hub.is_blocked("store-1")
    assert stock_of(hub) == {("A", "store-1"): 5}


def test_a_blocked_origin_applies_nothing_more_until_released(
    fork: tuple[ReplicaStore, ReplicaStore, ReplicaStore],
) -> None:
    hub, before, after = fork
    hub.apply(before.all_ops())
    hub.apply(after.ops_range("store-1", 1, 1))
    receive(before, "A", 2)
    assert hub.apply(before.ops_range("store-1", 2, 2)).blocked == 1
    assert hub.head("store-1") == 1
    assert [b["origin"] for b in hub.blocked_origins()] == ["store-1"]
    assert hub.release_origin("store-1", by="manager Li", why="the hub's history stands")
    assert len(hub.apply(before.ops_range("store-1", 2, 2)).applied) == 1
    assert stock_of(hub) == {("A", "store-1"): 7}


def test_a_release_whose_record_cannot_be_written_leaves_the_origin_blocked(
    fork: tuple[ReplicaStore, ReplicaStore, ReplicaStore],
) -> None:
    hub, before, after = fork
    hub.apply(before.all_ops())
    hub.apply(after.ops_range("store-1", 1, 1))

    def the_incident_write_fails(
        _conn: object, _cursor: object, statement: str, *_: object
    ) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO SYNC_INCIDENTS"):
            raise RuntimeError("the process died here")

    event.listen(hub.engine, "before_cursor_execute", the_incident_write_fails)
    try:
        with pytest.raises(RuntimeError, match="died"):
            hub.release_origin("store-1", by="manager Li", why="the hub's history stands")
    finally:
        event.remove(hub.engine, "before_cursor_execute", the_incident_write_fails)
    assert hub.is_blocked("store-1")  # no release without the record of who decided
    assert not [i for i in hub.incidents() if i["kind"] == "origin_released"]


def test_a_page_whose_history_differs_before_its_first_op_is_equivocation(
    fork: tuple[ReplicaStore, ReplicaStore, ReplicaStore],
) -> None:
    hub, before, after = fork
    hub.apply(before.all_ops())
    # seq 2 is new to the hub, but it follows another seq 1 than the hub holds.
    link_before = after.chain_links({"store-1": 1})["store-1"]
    result = hub.apply(after.ops_range("store-1", 2, 2), after={"store-1": link_before})
    assert result.applied == [] and len(result.equivocations) == 1
    assert hub.is_blocked("store-1")


def test_the_same_history_chains_to_the_same_links(make_store: MakeStore) -> None:
    source = make_store("store-1", url="sqlite://")
    for qty in (1, 2, 3):
        receive(source, "A", qty)
    target = make_store("cloud")
    target.apply(source.ops_range("store-1", 1, 2))
    link = source.chain_links({"store-1": 2})["store-1"]
    assert target.apply(source.ops_range("store-1", 3, 3), after={"store-1": link}).applied
    assert target.head_links()["store-1"] == source.head_links()["store-1"]


def test_a_held_op_ahead_of_a_gap_is_compared_too(
    fork: tuple[ReplicaStore, ReplicaStore, ReplicaStore],
) -> None:
    hub, before, after = fork
    receive(before, "A", 9)  # store-1/2 in the first history
    hub.apply(before.ops_range("store-1", 2, 2))  # held: seq 1 is missing
    result = hub.apply(after.ops_range("store-1", 2, 2))
    assert len(result.equivocations) == 1 and hub.is_blocked("store-1")


def test_a_replica_whose_own_origin_is_blocked_writes_nothing(
    fork: tuple[ReplicaStore, ReplicaStore, ReplicaStore],
) -> None:
    _, before, after = fork
    # The restored node hears of its other history (the hub relays its seq 1 back).
    assert before.apply(after.ops_range("store-1", 1, 1)).equivocations
    with pytest.raises(NodeNotReady, match="equivocation"):
        receive(before, "A", 1)
