"""The drills that once lost truth silently, run against real processes and a real
broker: a forged hello must not end a restore hold, and a node that reuses its sequence
numbers (a ledger copied back by hand, with no restore marker) is caught on both sides.
(The third drill, a clock that runs back after a skewed restart, is
tests/sync/test_clock_resume.py.)"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import httpx

from sync_protocol.topics import NodeTopics
from tests.integration.cluster import (
    CATALOG,
    Cluster,
    hub_holds,
    node_incidents,
    publish,
    raw_mqtt_client,
    wait_until,
)
from tests.integration.cluster import sell as shared_sell

COLA = next(iter(CATALOG))
SALE = {"lines": [{"sku": COLA, "qty": 1}]}


def sell(cluster: Cluster, n: int) -> None:
    shared_sell(cluster, "store-1", COLA, n)


def try_to_sell(cluster: Cluster) -> httpx.Response:
    return httpx.post(
        cluster.url("store-1") + "/api/sales",
        json=SALE,
        headers=cluster.headers("store-1"),
        timeout=10,
    )


def of_kind(incidents: list[dict[str, object]], kind: str) -> bool:
    """Whether any of `incidents` is of `kind`."""
    return any(i["kind"] == kind for i in incidents)


def test_a_forged_hello_does_not_end_a_restore_hold(
    make_cluster: Callable[[list[str]], Cluster],
) -> None:
    cluster = make_cluster(["store-1"])
    cluster.start_all()
    wait_until(lambda: COLA in cluster.node_stock("store-1"), 30, "the catalog")
    sell(cluster, 2)
    wait_until(lambda: hub_holds(cluster, "store-1") == 4, 30, "the sales to sync")
    cluster.stop("store-1")
    cluster.stop("hub")
    (cluster.base / "store-1" / "RESTORED").write_text("restored by hand\n")
    cluster.start("store-1")
    assert try_to_sell(cluster).status_code == 503

    # What an intruder on the broker sends: the hub's hello, unsealed, saying it holds
    # nothing of the node (and the same in the first protocol's words).
    down = NodeTopics("demo", "store-1").down
    with raw_mqtt_client(cluster.broker) as intruder:
        publish(intruder, down, b'J{"from":"cloud","p":2,"t":"hello","vv":{}}')
        publish(intruder, down, b'J{"from":"cloud","p":1,"t":"hello","vv":{}}')
    wait_until(lambda: of_kind(node_incidents(cluster, "store-1"), "unsealed"), 20, "the refusal")
    assert try_to_sell(cluster).status_code == 503  # still held: only the hub's word counts
    assert (cluster.base / "store-1" / "RESTORED").exists()

    cluster.start("hub")
    wait_until(lambda: try_to_sell(cluster).status_code == 200, 60, "the hub's word")
    wait_until(lambda: hub_holds(cluster, "store-1") == 6, 30, "the new sale to sync")


def test_a_node_that_reuses_its_seqs_is_blocked_on_both_sides(
    make_cluster: Callable[[list[str]], Cluster], tmp_path: Path
) -> None:
    cluster = make_cluster(["store-1"])
    cluster.start_all()
    data_dir = cluster.base / "store-1"
    wait_until(lambda: COLA in cluster.node_stock("store-1"), 30, "the catalog")
    sell(cluster, 2)  # ops 1..4
    wait_until(lambda: hub_holds(cluster, "store-1") == 4, 30, "the first sales to sync")
    cluster.stop("store-1")
    old = tmp_path / "copy"
    old.mkdir()
    for f in data_dir.glob("ledger.db*"):
        shutil.copy2(f, old / f.name)
    cluster.start("store-1")
    sell(cluster, 3)  # ops 5..10
    wait_until(lambda: hub_holds(cluster, "store-1") == 10, 30, "the later sales to sync")

    # Someone copies the old ledger back by hand (no RESTORED marker), with the hub
    # away: the node writes ops 5 and 6 again, with other content.
    cluster.stop("store-1")
    cluster.stop("hub")
    for f in data_dir.glob("ledger.db*"):
        f.unlink()
    for f in old.glob("ledger.db*"):
        shutil.copy2(f, data_dir / f.name)
    cluster.start("store-1")
    assert try_to_sell(cluster).status_code == 200

    cluster.start("hub")
    wait_until(
        lambda: of_kind(cluster.get("hub", "/api/incidents"), "equivocation"),
        30,
        "the hub to find two histories of store-1",
    )
    wait_until(
        lambda: of_kind(node_incidents(cluster, "store-1"), "equivocation"),
        30,
        "the node to find two histories of its own origin",
    )
    assert hub_holds(cluster, "store-1") == 10  # the hub took nothing of the other history
    refused = try_to_sell(cluster)
    assert refused.status_code == 503 and "人工" in refused.json()["message_zh"]
