"""Several hub workers (`shopfloor cloud run` processes) on one database and one broker:
each node is served by the one worker holding its lease (docs/hub-workers.md), so no
two workers send a node pages; together they store every op once; when a worker dies
another takes its nodes over."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine

from cloud.workers.leases import Lease, LeaseBook
from sync_protocol.messages import OpsPage, decode
from tests.integration.cluster import (
    CATALOG,
    Cluster,
    add_hub_worker,
    catalog_synced,
    raw_mqtt_client,
    wait_until,
)

COLA = next(iter(CATALOG))
NODES = ["store-1", "store-2", "store-3", "store-4"]


def leases(cluster: Cluster) -> dict[str, Lease]:
    engine = create_engine(cluster.hub_db)
    try:
        return {lease.node: lease for lease in LeaseBook(engine, "test").all()}
    finally:
        engine.dispose()


def start_workers_then_nodes(cluster: Cluster, workers: list[str]) -> None:
    """Every worker first, so that the nodes' first words find all of them listening."""
    for name in workers:
        cluster.start(name)
    wait_until(
        lambda: all(cluster.get(w, "/api/ingest")["connected"] for w in workers), 30, "workers"
    )
    for node in cluster.node_ids:
        cluster.start(node)


class HubVoices:
    """Every message hub workers send to nodes, as a raw subscriber on the broker sees
    it: per node, the connection nonces of the hub sessions that spoke to it, and how
    many pages each sent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.pages: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.voices: dict[str, set[str]] = defaultdict(set)

    def heard(self, topic: str, payload: bytes) -> None:
        node = topic.split("/")[3]
        msg = decode(payload)
        if isinstance(msg, OpsPage):
            nonce = msg.nonce or ""
        else:
            nonce = msg.seal.session if msg.seal is not None else ""
        with self._lock:
            self.voices[node].add(nonce)
            if isinstance(msg, OpsPage):
                self.pages[node][nonce] += 1


@contextmanager
def listening_to_the_hub(cluster: Cluster) -> Iterator[HubVoices]:
    voices = HubVoices()
    tenant = "demo"
    with raw_mqtt_client(cluster.broker, "hub-voices") as client:
        subscribed = threading.Event()
        client.on_message = lambda _c, _u, m: voices.heard(m.topic, bytes(m.payload))
        client.on_subscribe = lambda *_a: subscribed.set()
        client.subscribe([(f"sf/{tenant}/node/+/down", 1), (f"sf/{tenant}/node/+/ack", 1)])
        assert subscribed.wait(10)
        yield voices


def receive_stock(cluster: Cluster, node: str, rounds: int) -> None:
    for round_ in range(rounds):
        cluster.post(node, "/api/stock/receive", {"sku": COLA, "qty": round_ + 1})


@pytest.mark.slow
def test_each_node_is_served_by_one_worker_and_every_op_is_stored_once(
    make_cluster: Callable[[list[str]], Cluster],
) -> None:
    cluster = make_cluster(NODES)
    if cluster.broker.kind != "mosquitto":
        pytest.skip("shared subscriptions need MQTT 5 (Mosquitto); amqtt has none")
    second = add_hub_worker(cluster, "2")
    with listening_to_the_hub(cluster) as voices:
        start_workers_then_nodes(cluster, ["hub", second])
        for node in NODES:
            wait_until(catalog_synced(cluster, node, COLA), 30, f"{node} to get the catalog")
        for node in NODES:
            receive_stock(cluster, node, 20)

        def all_held() -> bool:
            held = {n["node_id"]: n["held"] for n in cluster.get("hub", "/api/nodes")}
            return all(held[node] == 20 for node in NODES)

        wait_until(all_held, 60, "the hub to hold all 80 receipts")
        expected = {(COLA, node): sum(range(1, 21)) for node in NODES}
        assert cluster.hub_stock() == expected

    workers = {name: cluster.get(name, "/api/ingest") for name in ("hub", second)}
    by_lease = leases(cluster)
    assert sorted(by_lease) == NODES
    served = {w["worker_id"]: w for w in workers.values()}
    assert {lease.worker for lease in by_lease.values()} <= set(served)
    # One hub session spoke to each node, and it alone sent it pages (the catalog).
    for node in NODES:
        assert len(voices.voices[node]) == 1, f"{node} heard {voices.voices[node]}"
        assert sum(voices.pages[node].values()) >= 1
    assert sum(w["ops_applied"] for w in workers.values()) == 80
    assert sum(w["duplicates"] for w in workers.values()) == 0
    # The shared subscription spread the nodes' first words: both workers serve some.
    assert all(w["leases"] > 0 for w in workers.values()), f"one worker took all: {workers}"


@pytest.mark.slow
def test_a_dead_workers_nodes_are_taken_over_and_nothing_is_lost(
    make_cluster: Callable[[list[str]], Cluster],
) -> None:
    cluster = make_cluster(NODES[:2])
    if cluster.broker.kind != "mosquitto":
        pytest.skip("shared subscriptions need MQTT 5 (Mosquitto); amqtt has none")
    second = add_hub_worker(cluster, "2")
    start_workers_then_nodes(cluster, ["hub", second])
    for node in NODES[:2]:
        wait_until(catalog_synced(cluster, node, COLA), 30, f"{node} to get the catalog")
    receive_stock(cluster, "store-1", 5)
    process = {"1": "hub", "2": second}
    wait_until(lambda: "store-1" in leases(cluster), 10, "store-1's lease")
    doomed = leases(cluster)["store-1"].worker
    survivor = process["2" if doomed == "1" else "1"]

    cluster.kill(process[doomed])  # SIGKILL: no release; its Last Will says it is gone
    killed = time.monotonic()
    receive_stock(cluster, "store-1", 10)
    wait_until(lambda: leases(cluster)["store-1"].worker != doomed, 30, "store-1 taken over")
    took = time.monotonic() - killed

    def held_by_survivor() -> bool:
        held = {n["node_id"]: n["held"] for n in cluster.get(survivor, "/api/nodes")}
        return bool(held["store-1"] == 15)

    wait_until(held_by_survivor, 60, "the surviving worker to hold all of store-1's receipts")
    stock = cluster.get(survivor, "/api/stock")["rows"]
    cola = next(row["by_location"] for row in stock if row["sku"] == COLA)
    assert cola["store-1"] == sum(range(1, 6)) + sum(range(1, 11))
    print(f"store-1 taken over {took:.1f} s after its worker was killed")
