"""A blocked origin shows where people look: the node's `/api/sync` (and its panel) and
the hub's `/api/nodes` (and its console), until someone releases it."""

from __future__ import annotations

from cloud.registry import enroll_node
from sync_protocol.signing import NodeKey
from sync_protocol.store.replica import Equivocation
from tests.api.conftest import Served


def fork_of(origin: str) -> Equivocation:
    return Equivocation(origin=origin, seq=3, held='{"qty":1}', offered='{"qty":2}')


def test_the_node_reports_the_origins_it_has_blocked_until_released(node: Served) -> None:
    ledger = node.app.state.node.ledger
    assert node.client.get("/api/sync").json()["blocked_origins"] == []
    ledger.block_origin(fork_of("store-2"))
    assert node.client.get("/api/sync").json()["blocked_origins"] == ["store-2"]
    assert "store-2" in node.client.get("/").text
    ledger.release_origin("store-2", by="Li", why="test")
    assert node.client.get("/api/sync").json()["blocked_origins"] == []


def test_the_hub_marks_a_blocked_node_with_the_reason(hub: Served) -> None:
    store = hub.app.state.hub.store
    enroll_node(store, "store-8", NodeKey.generate().public_b64, "八号店")
    [row] = [n for n in hub.client.get("/api/nodes").json() if n["node_id"] == "store-8"]
    assert row["blocked_reason"] is None
    store.block_origin(fork_of("store-8"))
    [row] = [n for n in hub.client.get("/api/nodes").json() if n["node_id"] == "store-8"]
    assert row["blocked_reason"].startswith("equivocation: origin 'store-8' signed two")
    assert 'data-testid="node-blocked"' in hub.client.get("/").text
