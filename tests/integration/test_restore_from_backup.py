"""A node restored from an old backup replays its own later ops from the hub before it
writes again, so it never reuses a sequence number (DESIGN §4)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.integration.cluster import CATALOG, Cluster, hub_holds, wait_until
from tests.integration.cluster import sell as shared_sell

COLA = next(iter(CATALOG))


def sell(cluster: Cluster, n: int) -> None:
    shared_sell(cluster, "store-1", COLA, n)


def synced(cluster: Cluster) -> bool:
    return bool(hub_holds(cluster, "store-1") == cluster.get("store-1", "/api/sync")["head"])


def ledger_files(data_dir: Path) -> list[Path]:
    return sorted(data_dir.glob("ledger.db*"))


def test_a_restored_node_catches_up_on_its_own_ops_before_writing(
    make_cluster: Callable[[list[str]], Cluster], tmp_path: Path
) -> None:
    cluster = make_cluster(["store-1"])
    cluster.start_all()
    data_dir = cluster.base / "store-1"
    wait_until(lambda: COLA in cluster.node_stock("store-1"), 30, "the catalog")
    sell(cluster, 5)
    wait_until(lambda: synced(cluster), 30, "the first sales to sync")

    cluster.stop("store-1")
    backup = tmp_path / "backup"
    backup.mkdir()
    for f in ledger_files(data_dir):
        shutil.copy2(f, backup / f.name)

    cluster.start("store-1")
    sell(cluster, 7)  # ops 11..24, which the backup will not have
    wait_until(lambda: synced(cluster), 30, "the later sales to sync")
    head_before_loss = cluster.get("store-1", "/api/sync")["head"]
    assert head_before_loss == 24

    # The box dies; its ledger comes back from the old backup.
    cluster.stop("store-1")
    cluster.stop("hub")
    for f in ledger_files(data_dir):
        f.unlink()
    for f in ledger_files(backup):
        shutil.copy2(f, data_dir / f.name)
    (data_dir / "RESTORED").write_text("restored by hand\n")

    cluster.start("store-1")
    assert cluster.get("store-1", "/api/sync")["head"] == 10
    refused = httpx.post(
        cluster.url("store-1") + "/api/sales",
        json={"lines": [{"sku": COLA, "qty": 1}]},
        headers=cluster.headers("store-1"),
        timeout=10,
    )
    assert refused.status_code == 503
    assert "备份" in refused.json()["message_zh"]

    cluster.start("hub")
    wait_until(lambda: not (data_dir / "RESTORED").exists(), 60, "the node to replay its own ops")
    assert cluster.get("store-1", "/api/sync")["head"] == head_before_loss
    assert cluster.node_stock("store-1")[COLA] == -12

    sell(cluster, 1)  # gets seq 25 and 26: never used before
    wait_until(lambda: synced(cluster), 30, "the new sale to sync")
    assert cluster.get("store-1", "/api/sync")["head"] == 26
    assert cluster.hub_stock() == {(COLA, "store-1"): -13}
    incidents = cluster.get("hub", "/api/incidents")
    assert incidents == [], f"the hub saw conflicting ops: {incidents}"
