"""A node killed with SIGKILL mid-burst loses no committed sale and no op."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from domain.registry import REGISTRY
from domain.sales.tables import sales as sales_table
from sync_protocol.store import ReplicaStore, schema
from tests.integration.cluster import CATALOG, Cluster, wait_until

TOTAL_SALES = 2000
KILL_AFTER = 600
COLA = next(iter(CATALOG))


def post_sales(
    cluster: Cluster, sale_ids: list[str], committed: set[str], stop: threading.Event
) -> None:
    """Post sales from 4 tills until done or the node dies; remember each 200."""
    lock = threading.Lock()

    def till(ids: list[str]) -> None:
        with httpx.Client(
            base_url=cluster.url("store-1"), headers=cluster.headers("store-1"), timeout=10
        ) as http:
            for sid in ids:
                if stop.is_set():
                    return
                try:
                    r = http.post(
                        "/api/sales", json={"sale_id": sid, "lines": [{"sku": COLA, "qty": 1}]}
                    )
                except httpx.HTTPError:
                    return
                if r.status_code == 200:
                    with lock:
                        committed.add(sid)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(till, [sale_ids[i::4] for i in range(4)]))


def ledger_facts(cluster: Cluster) -> tuple[set[str], list[tuple[str, int, str]], int]:
    store = ReplicaStore(
        f"sqlite:///{cluster.base / 'store-1' / 'ledger.db'}", origin="store-1", registry=REGISTRY
    )
    try:
        with store.read() as conn:
            sales = {r.sale_id for r in conn.execute(select(sales_table.c.sale_id))}
            ops = [
                (r.kind, r.seq, r.body)
                for r in conn.execute(
                    select(schema.ops.c.kind, schema.ops.c.seq, schema.ops.c.body)
                    .where(schema.ops.c.origin == "store-1")
                    .order_by(schema.ops.c.seq)
                )
            ]
        return sales, ops, store.peer_state("cloud").vv.get("store-1", 0)
    finally:
        store.close()


@pytest.mark.slow
def test_sigkill_during_2000_sales_loses_nothing_and_the_hub_gets_each_once(
    make_cluster: Callable[[list[str]], Cluster],
) -> None:
    cluster = make_cluster(["store-1"])
    cluster.start_all()
    wait_until(lambda: COLA in cluster.node_stock("store-1"), 30, "the catalog to reach the store")
    wait_until(
        lambda: cluster.get("store-1", "/api/sync")["ops_waiting"] == 0, 30, "a quiet outbox"
    )
    cluster.stop("hub")  # the sales pile up in the outbox

    sale_ids = [str(uuid.uuid4()) for _ in range(TOTAL_SALES)]
    committed: set[str] = set()
    stop = threading.Event()

    def killer() -> None:
        wait_until(lambda: len(committed) >= KILL_AFTER, 120, "sales to be recorded", every=0.01)
        cluster.kill("store-1")
        stop.set()

    kill_thread = threading.Thread(target=killer)
    kill_thread.start()
    post_sales(cluster, sale_ids, committed, stop)
    kill_thread.join()
    assert KILL_AFTER <= len(committed) < TOTAL_SALES

    sales, ops, acked = ledger_facts(cluster)
    assert committed <= sales, "a sale the till saw committed is missing after the crash"
    assert [seq for _, seq, _ in ops] == list(range(1, len(ops) + 1)), "op seqs have a gap"
    sale_ops = [body for kind, _, body in ops if kind == "sale.completed"]
    assert len(sale_ops) == len(sales), "every sale row has exactly one op"
    assert len(ops) - acked >= len(sales) * 2 - 2, "the unsent ops are still in the outbox"

    # Restart and finish the burst; tills retry what they never heard back about.
    cluster.start("store-1")
    post_sales(cluster, [s for s in sale_ids if s not in committed], committed, threading.Event())
    assert committed == set(sale_ids)
    assert cluster.node_stock("store-1")[COLA] == -TOTAL_SALES

    cluster.start("hub")
    head = cluster.get("store-1", "/api/sync")["head"]
    assert head == 2 * TOTAL_SALES
    took = wait_until(
        lambda: (
            {n["node_id"]: n["held"] for n in cluster.get("hub", "/api/nodes")}["store-1"] == head
        ),
        120,
        "the hub to hold every op",
    )
    print(f"hub caught up {head} ops in {took:.2f}s")
    assert cluster.hub_stock() == {(COLA, "store-1"): -TOTAL_SALES}
    hub = ReplicaStore(cluster.hub_db, origin="cloud", registry=REGISTRY)
    try:
        with hub.read() as conn:
            hub_sales = [r.sale_id for r in conn.execute(select(sales_table.c.sale_id))]
        assert sorted(hub_sales) == sorted(sale_ids)
        # The store's ops, each once, beside the hub's own (its catalog and staff).
        assert hub.count_ops() == head + hub.head("cloud")
        assert hub.head("store-1") == head
    finally:
        hub.close()
