"""A full disk, for real: SQLite's `max_page_count` caps a ledger at its present size, so
the next write that needs a page gets SQLITE_FULL ("database or disk is full"), the very
error a full disk gives, without a loop device or root.

What is proved: the write raises `StorageFull` with both messages and stores nothing of
itself (a many-op transaction included); what was stored before is intact; the full disk
is an incident when there is room for one, and only a log line when there is not; the
node answers a sale on a full disk with 507 in the ErrorOut shape, keeps serving reads,
and takes the very same sale once there is space again. The hub's catalog write too.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from cloud.app import create_app as create_hub_app
from cloud.services.catalog import set_catalog_item
from cloud.settings import HubSettings
from domain.catalog.kinds import ItemFields
from domain.registry import REGISTRY
from edge.app import create_app as create_node_app
from edge.settings import EdgeSettings
from sync_protocol.errors import StorageFull
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from tests.support.access import bearer, hub_token, node_token
from tests.support.serving import serving
from tests.sync.replicas import receive, stock_of

NODE = "store-1"
WATER = "6901234567890"
ZH_FULL = "存储空间已满"


def fill_disk(store: ReplicaStore) -> Callable[[], None]:
    """Make the disk under `store` full at the ledger's present size; return `free`, which
    makes room again. (max_page_count is per connection: set on each new write
    connection, and the pooled ones are dropped.)"""
    with store.read() as conn:
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())

    def cap(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count={pages}")

    event.listen(store.engine, "connect", cap)
    store.engine.dispose()

    def free() -> None:
        event.remove(store.engine, "connect", cap)
        store.engine.dispose()

    return free


def write_until_full(write: Callable[[int], object], limit: int = 2000) -> tuple[int, Any]:
    """Call write(i) until the disk refuses one; (how many were written, the refusal)."""
    for i in range(limit):
        try:
            write(i)
        except StorageFull as exc:
            return i, exc
    raise AssertionError(f"the disk took {limit} writes")


def integrity(store: ReplicaStore) -> str:
    with store.read() as conn:
        return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar_one())


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[ReplicaStore]:
    store = ReplicaStore(
        f"sqlite:///{tmp_path / 'ledger.db'}",
        origin=NODE,
        key=NodeKey.generate(),
        registry=REGISTRY,
    )
    yield store
    store.close()


# --- the store -------------------------------------------------------------------------


def test_a_write_on_a_full_disk_is_refused_whole_and_the_ledger_is_intact(
    ledger: ReplicaStore,
) -> None:
    for _ in range(20):
        receive(ledger, "A", 1)
    free = fill_disk(ledger)

    written, refusal = write_until_full(lambda _i: receive(ledger, "A", 1))

    assert refusal.message.startswith("Storage is full: this operation was not saved")
    assert refusal.message_zh.startswith(ZH_FULL)
    assert refusal.detail == "database or disk is full"
    assert ledger.head(NODE) == ledger.count_ops() == 20 + written
    assert stock_of(ledger) == {("A", NODE): 20 + written}
    assert integrity(ledger) == "ok"

    # A transaction of many ops is refused whole: not one of them is stored.
    def big_delivery() -> None:
        with ledger.write() as txn:
            for n in range(300):
                txn.append(
                    "stock.moved",
                    {"sku": f"B{n}", "location": NODE, "qty": 1, "reason": "receive"},
                    "t",
                )

    with pytest.raises(StorageFull):
        big_delivery()
    assert ledger.head(NODE) == 20 + written
    assert stock_of(ledger) == {("A", NODE): 20 + written}

    free()
    big_delivery()
    assert ledger.head(NODE) == 20 + written + 300  # no seq lost, none reused
    assert integrity(ledger) == "ok"


def test_the_full_disk_is_an_incident_counted_once_a_day(ledger: ReplicaStore) -> None:
    receive(ledger, "A", 1)
    fill_disk(ledger)
    for _ in range(3):
        write_until_full(lambda _i: receive(ledger, "A", 1))

    [incident] = [i for i in ledger.incidents() if i["kind"] == "storage_full"]
    assert incident["disposition"] == "rejected"
    assert incident["count"] == 3
    assert "disk is full" in incident["reason"]


def test_when_not_even_the_incident_fits_it_is_logged_and_the_write_is_still_refused(
    ledger: ReplicaStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_room(**_kw: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ledger, "record_incident", no_room)
    fill_disk(ledger)
    with caplog.at_level(logging.ERROR, logger="sync_protocol.store.base"):
        write_until_full(lambda _i: receive(ledger, "A", 1))
    logged = [r.getMessage() for r in caplog.records]
    assert any("storage full" in m for m in logged), logged
    assert any("could not record the storage-full incident" in m for m in logged), logged


def test_enospc_inside_a_transaction_is_storage_full_and_rolls_it_back(
    ledger: ReplicaStore,
) -> None:
    receive(ledger, "A", 1)
    with pytest.raises(StorageFull) as raised, ledger.write() as txn:
        txn.append(
            "stock.moved", {"sku": "A", "location": NODE, "qty": 5, "reason": "receive"}, "t"
        )
        raise OSError(errno.ENOSPC, "No space left on device")
    assert raised.value.detail == "[Errno 28] No space left on device"
    assert stock_of(ledger) == {("A", NODE): 1}
    assert ledger.head(NODE) == 1


# --- over HTTP -------------------------------------------------------------------------


def hub_catalog(base: Path) -> tuple[str, list[Any]]:
    """A priced catalog written at a hub, as signed ops that reach a node."""
    key = NodeKey.generate()
    hq = ReplicaStore(f"sqlite:///{base / 'hq.db'}", origin="cloud", key=key, registry=REGISTRY)
    try:
        set_catalog_item(hq, WATER, ItemFields(name="农夫山泉 550ml", price_fen=200), "hq")
        return key.public_b64, hq.ops_range("cloud", 1, hq.head("cloud"))
    finally:
        hq.close()


def full_answer(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 507, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["error"] == "StorageFull"
    assert body["message"].startswith("Storage is full")
    assert body["message_zh"].startswith(ZH_FULL)
    return body


def test_a_sale_on_a_full_disk_answers_507_and_the_node_keeps_serving(tmp_path: Path) -> None:
    hub_key, catalog_ops = hub_catalog(tmp_path)
    settings = EdgeSettings(data_dir=tmp_path / NODE, node_id=NODE, hub_public_key=hub_key)
    app = create_node_app(settings, with_sync=False)
    token = node_token(app.state.node.ledger)
    ledger: ReplicaStore = app.state.node.ledger
    ledger.apply(catalog_ops)
    with (
        serving(app) as url,
        httpx.Client(base_url=url, timeout=30, headers=bearer(token)) as client,
    ):
        assert client.post("/api/stock/receive", json={"sku": WATER, "qty": 5000}).is_success
        free = fill_disk(ledger)

        def sell(i: int) -> None:
            sale = {"sale_id": f"till-1-{i:04d}", "lines": [{"sku": WATER, "qty": 1}]}
            response = client.post("/api/sales", json=sale)
            if response.status_code == 507:
                full_answer(response)
                raise StorageFull()
            assert response.status_code == 200, response.text

        sold, _ = write_until_full(sell)
        refused_id = f"till-1-{sold:04d}"

        # Nothing of the refused sale is stored; everything before it is.
        stock = {row["sku"]: row["qty"] for row in client.get("/api/stock").json()}
        assert stock[WATER] == 5000 - sold
        assert client.get("/api/sync").json()["head"] == 1 + 2 * sold
        assert client.get("/healthz").is_success
        assert client.get("/").status_code == 200  # the till's page
        assert "storage_full" in {i["kind"] for i in ledger.incidents()}

        # The next write is answered too: refused the same way, or stored if it still
        # fits where the sale did not (a receipt is smaller); nothing in between.
        receipt = client.post("/api/stock/receive", json={"sku": WATER, "qty": 1})
        if receipt.status_code != 200:
            full_answer(receipt)

        # Space again: the till's retry of the refused sale is a new sale, not a replay.
        free()
        retry = client.post(
            "/api/sales", json={"sale_id": refused_id, "lines": [{"sku": WATER, "qty": 1}]}
        )
        assert retry.status_code == 200, retry.text
        assert retry.json()["replayed"] is False

        documented = client.get("/openapi.json").json()["paths"]
        for path in ("/api/sales", "/api/stock/receive"):
            assert "507" in documented[path]["post"]["responses"]


def test_a_catalog_write_on_a_full_hub_answers_507(tmp_path: Path) -> None:
    app = create_hub_app(
        HubSettings(data_dir=tmp_path, db=f"sqlite:///{tmp_path / 'hub.db'}"), with_ingest=False
    )
    store: ReplicaStore = app.state.hub.store
    token = hub_token(store)
    with (
        serving(app) as url,
        httpx.Client(base_url=url, timeout=30, headers=bearer(token)) as client,
    ):
        fill_disk(store)

        def set_price(i: int) -> None:
            item = {"sku": f"SKU-{i}", "fields": {"name": "x" * 200, "price_fen": 100}}
            response = client.post("/api/catalog/items", json=item)
            if response.status_code == 507:
                full_answer(response)
                raise StorageFull()
            assert response.status_code == 200, response.text

        written, _ = write_until_full(set_price)
        assert store.head("cloud") == written
        assert client.get("/api/catalog").json().keys() == {f"SKU-{i}" for i in range(written)}
        documented = client.get("/openapi.json").json()["paths"]
        assert "507" in documented["/api/catalog/items"]["post"]["responses"]
