"""Compaction and a start from the hub's snapshot, end to end: a real hub and node
(`shopfloor cloud run`, `shopfloor edge run`) on a real broker. The node's ledger is
compacted by `shopfloor edge compact` beside the running till; later the ledger is lost
with no backup and `shopfloor edge start-over` brings the store back from the hub's
signed snapshot over HTTP. It sells on under the next seq, the hub takes it as the
same history, and the hub still holds every op."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from edge.settings import EdgeSettings
from tests.integration.cluster import CATALOG, Cluster, catalog_synced, hub_holds, sell, wait_until

WATER, COLA, NOODLES = list(CATALOG)
DEADLINE = 60.0


def shopfloor(*argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "shopfloor_cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def ops_in_ledger(path: Path, origin: str) -> int:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as db:
        return int(db.execute("SELECT count(*) FROM ops WHERE origin = ?", (origin,)).fetchone()[0])


def all_synced(cluster: Cluster, node: str) -> Callable[[], bool]:
    def check() -> bool:
        status = cluster.get(node, "/api/sync")
        return int(status["ops_waiting"]) == 0 and hub_holds(cluster, node) == int(status["head"])

    return check


def test_a_node_compacts_beside_its_till_and_starts_over_from_the_hubs_snapshot(
    make_cluster: Callable[[list[str]], Cluster],
) -> None:
    cluster = make_cluster(["store-1"])
    data_dir = cluster.base / "store-1"
    ledger = data_dir / "ledger.db"
    EdgeSettings.load(data_dir).model_copy(update={"hub_url": cluster.url("hub")}).save()
    cluster.start_all()
    wait_until(catalog_synced(cluster, "store-1", COLA), DEADLINE, "the catalog to arrive")
    cluster.post("store-1", "/api/stock/receive", {"sku": COLA, "qty": 50})
    sell(cluster, "store-1", COLA, 10)
    wait_until(all_synced(cluster, "store-1"), DEADLINE, "the hub to hold the sales")

    # Compacted beside the running till, once the node has saved the hub's ack.
    def compacted() -> bool:
        shopfloor("edge", "compact", "--data-dir", str(data_dir), "--retain-days", "0")
        return ops_in_ledger(ledger, "store-1") == 0

    wait_until(compacted, DEADLINE, "the acknowledged ops to be compacted", every=1.0)
    sell(cluster, "store-1", COLA, 3)  # chains on from the compacted head
    wait_until(all_synced(cluster, "store-1"), DEADLINE, "the hub to take the later sales")
    head = int(cluster.get("store-1", "/api/sync")["head"])
    stock = cluster.node_stock("store-1")
    assert stock[COLA] == 50 - 13

    # The SD card dies and there is no backup: the store starts over from the hub.
    cluster.stop("store-1")
    lost = cluster.base / "lost"
    lost.mkdir()
    for part in data_dir.glob("ledger.db*"):
        shutil.move(str(part), lost / part.name)
    said = shopfloor("edge", "start-over", "--data-dir", str(data_dir))
    assert f"store-1 {head}" in said, said
    # The lost ledger held the node's API tokens too (a token is the node's own, never
    # replicated): whoever restores the store issues the till a new one.
    issued = shopfloor(
        "edge",
        "issue-token",
        "till 1",
        "--scope",
        "sales:write",
        "--scope",
        "stock:read",
        "--scope",
        "sync:read",
        "--data-dir",
        str(data_dir),
    )
    cluster.tokens["store-1"] = issued.strip().splitlines()[-1]
    cluster.start("store-1")
    assert cluster.node_stock("store-1") == stock
    sell(cluster, "store-1", COLA, 1)
    wait_until(all_synced(cluster, "store-1"), DEADLINE, "the hub to take the sale after it")
    assert hub_holds(cluster, "store-1") == head + 2
    kinds = {incident["kind"] for incident in cluster.get("hub", "/api/incidents")}
    assert "equivocation" not in kinds and "blocked_origin" not in kinds
    assert cluster.node_stock("store-1")[COLA] == 50 - 14
