"""A node and a hub served for real (uvicorn on a free port), for the HTTP API tests.

- ``node``  (module)  a store node whose catalog came from the hub as signed
                      ``catalog.item_set`` ops: CATALOG below, every item priced
- ``hub``   (module)  a hub on a SQLite file and on PostgreSQL (parametrised; the
                      PostgreSQL variant skips without a server), with CATALOG set

Module-scoped: the schemathesis tests send hundreds of requests to one running app,
which then holds what the earlier ones wrote, as a real one would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from cloud.app import create_app as create_hub_app
from cloud.services.catalog import set_catalog_item
from cloud.settings import HubSettings
from domain.catalog.kinds import ItemFields
from domain.registry import REGISTRY
from edge.app import create_app as create_node_app
from edge.settings import EdgeSettings
from sync_protocol.ops import Op
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from tests.support import postgres
from tests.support.access import bearer, hub_token, node_token
from tests.support.serving import serving

CATALOG = {
    "6901234567890": ("农夫山泉 550ml", 200),
    "6902538005141": ("可口可乐 330ml", 350),
    "COLA-330": ("Coca-Cola 330ml", 350),
}


@dataclass
class Served:
    app: FastAPI
    url: str
    client: httpx.Client  # sends a bearer token holding every scope
    token: str


def hub_catalog_ops(base: Path) -> tuple[str, list[Op]]:
    """CATALOG written at a hub (its own store and key): the hub's public key and its
    signed ops, as they would reach a node."""
    key = NodeKey.generate()
    store = ReplicaStore(f"sqlite:///{base / 'hq.db'}", origin="cloud", key=key, registry=REGISTRY)
    try:
        for sku, (name, price) in CATALOG.items():
            set_catalog_item(store, sku, ItemFields(name=name, price_fen=price), "hq")
        return key.public_b64, store.ops_range("cloud", 1, store.head("cloud"))
    finally:
        store.close()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    base = tmp_path_factory.mktemp("node")
    hub_key, ops = hub_catalog_ops(base)
    settings = EdgeSettings(data_dir=base / "store-1", node_id="store-1", hub_public_key=hub_key)
    app = create_node_app(settings, with_sync=False)
    app.state.node.ledger.apply(ops)
    token = node_token(app.state.node.ledger)
    with (
        serving(app) as url,
        httpx.Client(base_url=url, timeout=30, headers=bearer(token)) as client,
    ):
        assert {row["sku"] for row in client.get("/api/stock").json()} == set(CATALOG)
        yield Served(app, url, client, token)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    base = tmp_path_factory.mktemp("hub")
    if request.param == "sqlite":
        yield from _serve_hub(base, f"sqlite:///{base / 'hub.db'}")
        return
    reason = postgres.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with postgres.throwaway_database() as url:
        yield from _serve_hub(base, url)


def _serve_hub(base: Path, db_url: str) -> Iterator[Served]:
    app = create_hub_app(HubSettings(data_dir=base, db=db_url), with_ingest=False)
    for sku, (name, price) in CATALOG.items():
        set_catalog_item(app.state.hub.store, sku, ItemFields(name=name, price_fen=price), "hq")
    token = hub_token(app.state.hub.store)
    with (
        serving(app) as url,
        httpx.Client(base_url=url, timeout=30, headers=bearer(token)) as client,
    ):
        yield Served(app, url, client, token)
