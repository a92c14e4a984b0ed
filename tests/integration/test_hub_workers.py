"""Several hub workers share the nodes' traffic through a shared subscription and the
database, and together store every op exactly once."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.integration.cluster import CATALOG, Cluster, add_hub_worker, catalog_synced, wait_until

COLA = next(iter(CATALOG))


@pytest.mark.slow
def test_two_hub_workers_split_the_ingest_and_store_each_op_once(
    make_cluster: Callable[[list[str]], Cluster],
) -> None:
    cluster = make_cluster(["store-1", "store-2", "store-3"])
    if cluster.broker.kind != "mosquitto":
        pytest.skip("shared subscriptions need MQTT 5 (Mosquitto); amqtt has none")
    second = add_hub_worker(cluster, "2")
    cluster.start_all()
    nodes = ["store-1", "store-2", "store-3"]
    for node in nodes:
        wait_until(catalog_synced(cluster, node, COLA), 30, f"{node} to get the catalog")
    for round_ in range(20):
        for node in nodes:
            cluster.post(node, "/api/stock/receive", {"sku": COLA, "qty": round_ + 1})

    def all_held() -> bool:
        held = {n["node_id"]: n["held"] for n in cluster.get("hub", "/api/nodes")}
        return all(held[node] == 20 for node in nodes)

    wait_until(all_held, 60, "the hub to hold all 60 receipts")
    expected = {(COLA, node): sum(range(1, 21)) for node in nodes}
    assert cluster.hub_stock() == expected
    workers = [cluster.get(name, "/api/ingest") for name in ("hub", second)]
    assert all(w["shared_subscription"] for w in workers)
    assert all(w["ops_received"] > 0 for w in workers), f"one worker did all the work: {workers}"
    assert sum(w["ops_applied"] for w in workers) == 60
