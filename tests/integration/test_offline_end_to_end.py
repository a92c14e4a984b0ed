"""Two nodes keep trading through a broker outage; afterwards the hub agrees exactly."""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.cluster import CATALOG, Cluster, catalog_synced, wait_until

COLA, WATER, NOODLES = list(CATALOG)


def ledger_of(cluster: Cluster, node: str) -> dict[tuple[str, str], int]:
    return {(sku, node): qty for sku, qty in cluster.node_stock(node).items() if qty != 0}


def outbox_empty(cluster: Cluster, node: str) -> Callable[[], bool]:
    return lambda: cluster.get(node, "/api/sync")["ops_waiting"] == 0


def test_nodes_trade_offline_and_the_hub_converges_exactly(
    make_cluster: Callable[[list[str]], Cluster],
) -> None:
    cluster = make_cluster(["store-1", "wh-1"])
    cluster.start_all()
    # Both nodes first learn the catalog from the hub.
    for node in ("store-1", "wh-1"):
        wait_until(catalog_synced(cluster, node, NOODLES), 30, f"{node} to get the catalog")
    cluster.post("wh-1", "/api/stock/receive", {"sku": WATER, "qty": 100})

    cluster.broker.stop()
    for i in range(30):
        cluster.post("store-1", "/api/stock/receive", {"sku": COLA, "qty": 2})
        cluster.post("store-1", "/api/sales", {"lines": [{"sku": COLA, "qty": 1}]})
        cluster.post("wh-1", "/api/stock/receive", {"sku": NOODLES, "qty": i + 1})
    cluster.post("hub", "/api/catalog/items", {"sku": COLA, "fields": {"price_fen": 399}})
    cluster.post(
        "hub",
        "/api/catalog/items",
        {"sku": "6900000000001", "fields": {"name": "新品：乌龙茶", "price_fen": 500}},
    )
    assert cluster.get("store-1", "/api/sync")["ops_waiting"] > 0
    assert cluster.node_stock("store-1")[COLA] == 30  # the store kept selling offline

    cluster.broker.start()
    expected = {**ledger_of(cluster, "store-1"), **ledger_of(cluster, "wh-1")}
    took = wait_until(lambda: cluster.hub_stock() == expected, 60, "the hub to hold both ledgers")
    print(f"catch-up after the outage took {took:.2f}s")

    for node in ("store-1", "wh-1"):
        wait_until(outbox_empty(cluster, node), 30, f"{node}'s outbox to drain")
        stock = {row["sku"]: row for row in cluster.get(node, "/api/stock")}
        assert stock[COLA]["price_fen"] == 399
        assert stock["6900000000001"]["name"] == "新品：乌龙茶"

    # Each op stored exactly once: the hub holds each node's ops up to its head, no more.
    nodes = {n["node_id"]: n for n in cluster.get("hub", "/api/nodes")}
    for node in ("store-1", "wh-1"):
        head = cluster.get(node, "/api/sync")["head"]
        assert nodes[node]["held"] == head
        assert nodes[node]["backlog"] == 0
    # 30 receipts + 30 sales × (sale + stock move) at the store; 1 + 30 receipts at the warehouse.
    assert nodes["store-1"]["held"] == 90
    assert nodes["wh-1"]["held"] == 31
