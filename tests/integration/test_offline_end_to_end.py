"""Two nodes keep trading through a broker outage; afterwards the hub agrees exactly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.integration.cluster import CATALOG, Cluster, catalog_synced, wait_until
from tests.support.waiting import wait_equal

WATER, COLA, NOODLES = list(CATALOG)
OOLONG = "6900000000001"  # added to the catalog at the hub during the outage
NODES = ("store-1", "wh-1")
# Asynchronous state comes over a broker that has just restarted, on a busy machine.
DEADLINE = 60.0
REACHABLE = (httpx.HTTPError,)


def ledger_of(cluster: Cluster, node: str) -> dict[tuple[str, str], int]:
    return {(sku, node): qty for sku, qty in cluster.node_stock(node).items() if qty != 0}


def ops_waiting(cluster: Cluster, node: str) -> Callable[[], int]:
    """How many of `node`'s ops the hub has not acknowledged."""
    return lambda: int(cluster.get(node, "/api/sync")["ops_waiting"])


def catalog_entries(cluster: Cluster, node: str, skus: list[str]) -> Callable[[], dict[str, Any]]:
    """(name, price) of each of `skus` as `node` shows it; None for a SKU it lacks."""

    def read() -> dict[str, Any]:
        rows = {row["sku"]: row for row in cluster.get(node, "/api/stock")}
        return {s: (rows[s]["name"], rows[s]["price_fen"]) if s in rows else None for s in skus}

    return read


def sync_state_at_hub(cluster: Cluster) -> dict[str, dict[str, int]]:
    return {
        n["node_id"]: {"held": n["held"], "backlog": n["backlog"]}
        for n in cluster.get("hub", "/api/nodes")
    }


def test_nodes_trade_offline_and_the_hub_converges_exactly(
    make_cluster: Callable[[list[str]], Cluster],
) -> None:
    cluster = make_cluster(["store-1", "wh-1"])
    cluster.start_all()
    # Both nodes first learn the catalog from the hub.
    for node in NODES:
        wait_until(catalog_synced(cluster, node, NOODLES), DEADLINE, f"{node} to get the catalog")
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
        {"sku": OOLONG, "fields": {"name": "新品：乌龙茶", "price_fen": 500}},
    )
    assert cluster.get("store-1", "/api/sync")["ops_waiting"] > 0
    assert cluster.node_stock("store-1")[COLA] == 30  # the store kept selling offline

    cluster.broker.start()
    expected = {**ledger_of(cluster, "store-1"), **ledger_of(cluster, "wh-1")}
    took = wait_equal(
        cluster.hub_stock,
        expected,
        timeout=DEADLINE,
        what="the hub to hold both ledgers",
        ignore=REACHABLE,
    ).seconds
    print(f"catch-up after the outage took {took:.2f}s")

    # The catalog changes made at the hub during the outage reach both nodes; this is
    # the hub→node direction, which a drained outbox (node→hub) says nothing about.
    relayed = {COLA: (CATALOG[COLA][0], 399), OOLONG: ("新品：乌龙茶", 500)}
    for node in NODES:
        wait_equal(
            ops_waiting(cluster, node),
            0,
            timeout=DEADLINE,
            what=f"{node}'s outbox to drain (ops the hub has not acknowledged)",
            ignore=REACHABLE,
        )
        wait_equal(
            catalog_entries(cluster, node, list(relayed)),
            relayed,
            timeout=DEADLINE,
            what=f"the hub's catalog changes to reach {node}",
            ignore=REACHABLE,
        )

    # Each op stored exactly once: the hub holds each node's ops up to its head, no more.
    # 30 receipts + 30 sales × (sale + stock move) at the store; 1 + 30 receipts at the warehouse.
    heads = {node: cluster.get(node, "/api/sync")["head"] for node in NODES}
    assert heads == {"store-1": 90, "wh-1": 31}
    wait_equal(
        lambda: sync_state_at_hub(cluster),
        {node: {"held": head, "backlog": 0} for node, head in heads.items()},
        timeout=DEADLINE,
        what="the hub to hold each node's ops up to its head",
        ignore=REACHABLE,
    )
