"""The node fetches the hub's snapshot over the hub's HTTP API (served for real) and
starts over from it: by hand (`edge.bootstrap.start_over`) and by itself (the upkeep
thread), only when it is new or very stale. The route hands a snapshot only to its node
(signed proof), answers errors in the `ErrorOut` shape, and the hub keeps every op."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from cloud.app import create_app
from cloud.hub import Hub
from cloud.registry import enroll_node
from cloud.settings import HubSettings
from edge import upkeep as upkeep_module
from edge.bootstrap import reason_to_start_over, start_over
from edge.node import Node
from edge.settings import EdgeSettings
from edge.upkeep import Upkeep
from sync_protocol import snapshot
from sync_protocol.errors import ConfigurationError, SnapshotRejected
from sync_protocol.hlc import system_ms
from sync_protocol.node_proof import HEADER, node_proof
from sync_protocol.origins import HUB
from sync_protocol.signing import NodeKey
from sync_protocol.store.compaction import Retention, compact, floors
from tests.support.serving import serving
from tests.sync.star import Star, projections, sell, set_price


@dataclass
class Served:
    hub: Hub
    url: str


@pytest.fixture
def served(hub_db_url: str, tmp_path: Path) -> Iterator[Served]:
    app = create_app(HubSettings(data_dir=tmp_path / "hub", db=hub_db_url), with_ingest=False)
    hub: Hub = app.state.hub
    for price in range(300, 320):
        set_price(hub.store, "COLA", price)
    with serving(app) as url:
        yield Served(hub, url)


def node_of(served: Served, base: Path, **settings: Any) -> Node:
    given = {"hub_public_key": served.hub.key.public_b64, "hub_url": served.url, **settings}
    edge = EdgeSettings(data_dir=base / "store-1", node_id="store-1", **given)
    node = Node.open(edge, with_sync=False)
    enroll_node(served.hub.store, "store-1", node.key.public_b64)
    return node


def test_a_new_node_fetches_and_installs_the_hubs_snapshot(served: Served, tmp_path: Path) -> None:
    node = node_of(served, tmp_path)
    try:
        assert reason_to_start_over(node.ledger, 50_000) == "new"
        done = start_over(node.ledger, node.settings)
        assert done.heads == {HUB: 20}
        assert reason_to_start_over(node.ledger, 50_000) is None
        assert snapshot.installed(node.ledger) is not None
        assert (
            projections(node.ledger)["catalog_fields"]
            == projections(served.hub.store)["catalog_fields"]
        )
        assert served.hub.store.count_ops() == 20  # served, not given away
    finally:
        node.close()


def test_the_upkeep_thread_starts_a_stale_node_over_by_itself(
    served: Served, tmp_path: Path
) -> None:
    node = node_of(served, tmp_path, snapshot_behind_ops=100)
    try:
        star = Star(served.hub.store, node.ledger)
        star.sync()
        for price in range(400, 520):  # 120 of the hub's ops behind
            set_price(served.hub.store, "COLA", price)
        node.ledger.save_peer(HUB, vv={HUB: 140, "store-1": 0})  # what the hub's hello said
        assert reason_to_start_over(node.ledger, 100) == "stale"
        upkeep = Upkeep(node.ledger, node.settings)
        upkeep.start()
        try:
            deadline = time.monotonic() + 20
            while node.ledger.head(HUB) < 140 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            upkeep.stop()
        assert node.ledger.head(HUB) == 140
        assert node.ledger.count_ops() == 0  # the 20 old ops are the hub's, forgotten
        sell(node.ledger, "COLA", 1)
        star.sync()
        assert served.hub.store.head("store-1") == 2 and served.hub.store.blocked_origins() == []
    finally:
        node.close()


def test_the_upkeep_thread_compacts_what_the_hub_acknowledged(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upkeep_module, "FIRST_COMPACTION_AFTER_S", 0.0)
    node = node_of(served, tmp_path, hub_url="", retain_days=0)
    try:
        star = Star(served.hub.store, node.ledger)
        sell(node.ledger, "COLA", 3)
        star.sync()
        sell(node.ledger, "COLA", 1)  # not acknowledged: stays
        upkeep = Upkeep(node.ledger, node.settings)
        upkeep.start()
        try:
            deadline = time.monotonic() + 20
            while node.ledger.count_ops() > 2 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            upkeep.stop()
        assert floors(node.ledger) == {HUB: 20, "store-1": 6}
        assert [op.seq for op in node.ledger.all_ops()] == [7, 8]
    finally:
        node.close()


def test_a_snapshot_under_another_hub_key_is_refused_and_recorded(
    served: Served, tmp_path: Path
) -> None:
    node = node_of(served, tmp_path)
    try:
        other = EdgeSettings(
            data_dir=node.settings.data_dir,
            node_id="store-1",
            hub_public_key=node.key.public_b64,  # not the hub's key
            hub_url=served.url,
        )
        with pytest.raises(SnapshotRejected):
            start_over(node.ledger, other)
        assert node.ledger.version_vector() == {}
        assert [i["kind"] for i in node.ledger.incidents()] == ["snapshot_rejected"]
    finally:
        node.close()


def test_a_new_node_asks_once_even_when_the_hub_has_nothing_yet(
    hub_db_url: str, tmp_path: Path
) -> None:
    app = create_app(HubSettings(data_dir=tmp_path / "hub", db=hub_db_url), with_ingest=False)
    with serving(app) as url:
        node = node_of(Served(app.state.hub, url), tmp_path)
        try:
            assert reason_to_start_over(node.ledger, 50_000) == "new"
            assert start_over(node.ledger, node.settings).heads == {}
            assert reason_to_start_over(node.ledger, 50_000) is None
        finally:
            node.close()


def test_without_a_hub_url_a_node_cannot_start_over(served: Served, tmp_path: Path) -> None:
    node = node_of(served, tmp_path, hub_url="")
    try:
        with pytest.raises(ConfigurationError, match="hub_url"):
            start_over(node.ledger, node.settings)
    finally:
        node.close()


def proof_for(key: NodeKey, node: str, *, at_ms: int | None = None, **seqs: int) -> dict[str, str]:
    asked = snapshot.request_line(
        node, hub_seq=seqs.get("hub_seq", 0), own_seq=seqs.get("own_seq", 0)
    )
    return {HEADER: node_proof(key, node, asked, at_ms=system_ms() if at_ms is None else at_ms)}


def test_the_route_answers_bad_input_as_errors(served: Served, tmp_path: Path) -> None:
    node = node_of(served, tmp_path)
    try:
        with httpx.Client(base_url=served.url, timeout=30) as client:
            assert client.get("/api/sync/nodes/BAD_ID/snapshot").status_code == 422
            bad_seq = client.get("/api/sync/nodes/store-1/snapshot", params={"hub_seq": -1})
            assert bad_seq.status_code == 422
            mine = client.get(
                "/api/sync/nodes/store-1/snapshot", headers=proof_for(node.key, "store-1")
            )
            assert mine.status_code == 200
    finally:
        node.close()


SNAPSHOT_OF_1 = "/api/sync/nodes/store-1/snapshot"
SNAPSHOT_OF_2 = "/api/sync/nodes/store-2/snapshot"


@dataclass
class TwoNodes:
    """A client of the served hub, and the keys of its two enrolled nodes."""

    client: httpx.Client
    store_1: NodeKey
    store_2: NodeKey


@pytest.fixture
def two_nodes(served: Served) -> Iterator[TwoNodes]:
    keys = {node: NodeKey.generate() for node in ("store-1", "store-2")}
    for node, key in keys.items():
        enroll_node(served.hub.store, node, key.public_b64)
    with httpx.Client(base_url=served.url, timeout=30) as client:
        yield TwoNodes(client, keys["store-1"], keys["store-2"])


def test_a_snapshot_asked_for_without_a_proof_is_refused_in_chinese_too(
    two_nodes: TwoNodes,
) -> None:
    anonymous = two_nodes.client.get(SNAPSHOT_OF_1)
    assert anonymous.status_code == 401
    assert anonymous.json()["message_zh"] == "请求缺少节点签名证明"


def test_a_proof_signed_with_another_nodes_key_is_refused(two_nodes: TwoNodes) -> None:
    wrong_key = proof_for(two_nodes.store_2, "store-1")
    assert two_nodes.client.get(SNAPSHOT_OF_1, headers=wrong_key).status_code == 401


def test_another_nodes_own_proof_does_not_open_this_nodes_snapshot(two_nodes: TwoNodes) -> None:
    theirs = proof_for(two_nodes.store_2, "store-2")
    assert two_nodes.client.get(SNAPSHOT_OF_1, headers=theirs).status_code == 401


def test_a_proof_edited_to_name_another_node_is_refused(two_nodes: TwoNodes) -> None:
    stolen = proof_for(two_nodes.store_2, "store-2")  # a real proof, for another node's data
    forged = {HEADER: stolen[HEADER].replace("store-2", "store-1", 1)}
    assert two_nodes.client.get(SNAPSHOT_OF_1, headers=forged).status_code == 401


def test_a_proof_signed_for_another_request_line_is_refused(two_nodes: TwoNodes) -> None:
    for_its_own = proof_for(two_nodes.store_1, "store-1")
    assert two_nodes.client.get(SNAPSHOT_OF_2, headers=for_its_own).status_code == 401


def test_a_node_proving_who_it_is_still_may_not_take_another_nodes_snapshot(
    two_nodes: TwoNodes,
) -> None:
    asking_for_theirs = {
        HEADER: node_proof(
            two_nodes.store_1,
            "store-1",
            snapshot.request_line("store-2", hub_seq=0, own_seq=0),
            at_ms=system_ms(),
        )
    }
    assert two_nodes.client.get(SNAPSHOT_OF_2, headers=asking_for_theirs).status_code == 403


def test_a_stale_proof_is_refused(two_nodes: TwoNodes) -> None:
    stale = proof_for(two_nodes.store_1, "store-1", at_ms=system_ms() - 10 * 60_000)
    assert two_nodes.client.get(SNAPSHOT_OF_1, headers=stale).status_code == 401


def test_a_garbled_proof_is_refused(two_nodes: TwoNodes) -> None:
    assert two_nodes.client.get(SNAPSHOT_OF_1, headers={HEADER: "garbage"}).status_code == 401


def test_a_compacted_hub_is_impossible_the_archive_refuses(served: Served) -> None:
    with pytest.raises(ConfigurationError, match="archive"):
        compact(served.hub.store, "store-1", Retention(keep_days=0))
    assert served.hub.store.count_ops() == 20
