"""Mosquitto silently drops QoS 1 messages past `max_queued_messages` for a client that
is away. Correctness never depends on the broker: the version vectors repair it."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.integration.cluster import CATALOG, Cluster, catalog_synced, wait_until
from tests.support.broker import running_broker

COLA = next(iter(CATALOG))
NODES = ["store-1", "store-2", "wh-1"]


@pytest.mark.slow
def test_messages_the_broker_dropped_are_repaired_by_version_vectors(tmp_path: Path) -> None:
    with running_broker(tmp_path / "broker", max_queued_messages=2) as broker:
        if broker.kind != "mosquitto":
            pytest.skip("amqtt has no max_queued_messages to overflow")
        cluster = Cluster(tmp_path / "cluster", broker, f"sqlite:///{tmp_path / 'hub.db'}", NODES)
        try:
            cluster.start_all()
            for node in NODES:
                wait_until(catalog_synced(cluster, node, COLA), 30, f"{node} to sync")
            # The hub stops answering (SIGSTOP: its connection stays open a while, the
            # broker keeps sending)… (A hub worker that dies outright has nothing queued
            # at all: its session is clean, docs/hub-workers.md.)
            hub = cluster.procs["hub"].popen
            assert hub is not None
            hub.send_signal(signal.SIGSTOP)
            try:
                for i in range(25):
                    for node in NODES:
                        cluster.post(node, "/api/stock/receive", {"sku": COLA, "qty": i + 1})
                # …until its queue is full, and then drops what comes next.
                wait_until(
                    lambda: "being dropped" in broker.log_path.read_text(errors="replace"),
                    60,
                    "Mosquitto to drop messages for the stalled hub",
                    every=0.5,
                )
            finally:
                hub.send_signal(signal.SIGCONT)
            expected = {(COLA, node): sum(range(1, 26)) for node in NODES}
            took = wait_until(
                lambda: cluster.hub_stock() == expected, 60, "the hub to repair the loss"
            )
            print(f"repaired after the broker dropped messages in {took:.2f}s")
            held = {n["node_id"]: n["held"] for n in cluster.get("hub", "/api/nodes")}
            assert held == dict.fromkeys(NODES, 25)
        finally:
            cluster.close()
            print(cluster.logs())
