"""Forged, misdirected, malformed and replayed messages are refused or ignored with a
recorded reason, and the hub keeps ingesting the good ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import paho.mqtt.client as paho
import pytest

from domain.registry import REGISTRY
from sync_protocol.messages import OpsPage, encode
from sync_protocol.ops import Op
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from sync_protocol.topics import NodeTopics
from tests.integration.cluster import (
    CATALOG,
    Cluster,
    hub_holds,
    publish,
    raw_mqtt_client,
    wait_until,
)

COLA = next(iter(CATALOG))


@pytest.fixture
def intruder(make_cluster: Callable[[list[str]], Cluster]) -> Iterator[tuple[Cluster, paho.Client]]:
    """A running hub and store-1, store-2 enrolled but not running, and a raw MQTT
    client that can publish anything anywhere."""
    cluster = make_cluster(["store-1", "store-2"])
    cluster.start("hub")
    cluster.start("store-1")
    wait_until(lambda: COLA in cluster.node_stock("store-1"), 30, "store-1 to sync")
    with raw_mqtt_client(cluster.broker) as client:
        yield cluster, client


def stock_op(key: NodeKey, origin: str, seq: int, qty: int) -> Op:
    body = {"sku": COLA, "location": origin, "qty": qty, "reason": "receive"}
    return key.sign(Op(origin, seq, 1_700_000_000_000 << 16, "stock.moved", 1, "intruder", body))


def incidents(cluster: Cluster) -> list[dict[str, object]]:
    return cluster.get("hub", "/api/incidents")  # type: ignore[no-any-return]


def wait_for_incident(cluster: Cluster, needle: str) -> dict[str, object]:
    found: list[dict[str, object]] = []

    def seen() -> bool:
        found[:] = [i for i in incidents(cluster) if needle in str(i["reason"])]
        return bool(found)

    wait_until(seen, 20, f"an incident mentioning {needle!r}")
    return found[0]


def test_an_op_signed_with_the_wrong_key_is_rejected(intruder: tuple[Cluster, paho.Client]) -> None:
    cluster, client = intruder
    forged = stock_op(NodeKey.generate(), "store-2", 1, 1000)
    publish(client, NodeTopics("demo", "store-2").up, encode(OpsPage("store-2", [forged])))
    incident = wait_for_incident(cluster, "signature")
    assert incident["disposition"] == "rejected" and incident["origin"] == "store-2"
    assert hub_holds(cluster, "store-2") == 0


def test_an_op_of_another_node_on_this_nodes_topic_is_rejected(
    intruder: tuple[Cluster, paho.Client],
) -> None:
    cluster, client = intruder
    store2_key = NodeKey.load_or_create(cluster.base / "store-2" / "node_key.pem")
    genuine_but_misdirected = stock_op(store2_key, "store-2", 1, 5)
    publish(
        client,
        NodeTopics("demo", "store-1").up,
        encode(OpsPage("store-1", [genuine_but_misdirected])),
    )
    wait_for_incident(cluster, "did not create it")
    assert hub_holds(cluster, "store-2") == 0


def test_a_message_claiming_another_sender_than_its_topic_is_rejected(
    intruder: tuple[Cluster, paho.Client],
) -> None:
    cluster, client = intruder
    publish(client, NodeTopics("demo", "store-1").up, encode(OpsPage("store-2", [])))
    wait_for_incident(cluster, "on node 'store-1''s topic")


@pytest.mark.parametrize(
    "payload",
    [b"\x00\xffgarbage", b"J{not json", b'J{"t":"ops","p":1,"from":"store-1","ops":"many"}'],
    ids=["binary", "bad-json", "bad-shape"],
)
def test_a_malformed_payload_is_recorded_and_ignored(
    intruder: tuple[Cluster, paho.Client], payload: bytes
) -> None:
    cluster, client = intruder
    publish(client, NodeTopics("demo", "store-1").up, payload)
    incident = wait_for_incident(cluster, "malformed")
    assert incident["peer"] == "store-1"


def test_a_node_that_is_not_enrolled_is_refused(intruder: tuple[Cluster, paho.Client]) -> None:
    cluster, client = intruder
    stranger = stock_op(NodeKey.generate(), "store-9", 1, 1)
    publish(client, NodeTopics("demo", "store-9").up, encode(OpsPage("store-9", [stranger])))
    wait_for_incident(cluster, "not enrolled")


def test_a_replayed_old_batch_changes_nothing(intruder: tuple[Cluster, paho.Client]) -> None:
    cluster, client = intruder
    cluster.post("store-1", "/api/stock/receive", {"sku": COLA, "qty": 7})
    wait_until(lambda: hub_holds(cluster, "store-1") == 1, 20, "the receipt to reach the hub")
    ledger = ReplicaStore(
        f"sqlite:///{cluster.base / 'store-1' / 'ledger.db'}", origin="store-1", registry=REGISTRY
    )
    try:
        old_batch = OpsPage("store-1", ledger.ops_range("store-1", 1, 1))
    finally:
        ledger.close()
    for _ in range(3):
        publish(client, NodeTopics("demo", "store-1").up, encode(old_batch))
    cluster.post("store-1", "/api/stock/receive", {"sku": COLA, "qty": 1})
    wait_until(lambda: hub_holds(cluster, "store-1") == 2, 20, "the next receipt")
    assert cluster.hub_stock() == {(COLA, "store-1"): 8}


def test_good_ops_keep_flowing_after_every_kind_of_bad_input(
    intruder: tuple[Cluster, paho.Client],
) -> None:
    cluster, client = intruder
    up = NodeTopics("demo", "store-1").up
    publish(client, up, b"junk")
    publish(
        client, up, encode(OpsPage("store-1", [stock_op(NodeKey.generate(), "store-1", 1, 99)]))
    )
    for _ in range(5):
        cluster.post("store-1", "/api/stock/receive", {"sku": COLA, "qty": 2})
    wait_until(lambda: cluster.hub_stock() == {(COLA, "store-1"): 10}, 30, "the genuine receipts")
    assert hub_holds(cluster, "store-1") == 5
