"""The hub's JSON API: consolidated stock, nodes, catalog writes, sync incidents."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from cloud.deps import HubDep
from cloud.services.catalog import item_fields, set_catalog_item
from cloud.views import consolidated_stock, node_rows
from domain.catalog.queries import catalog as read_catalog

router = APIRouter(prefix="/api")


class CatalogItemIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    # Checked strictly by item_fields: a lax union here would turn `true` into 1.
    fields: dict[str, Any]
    actor: str = Field(default="hq", max_length=64)


class OpOut(BaseModel):
    origin: str
    seq: int


class NodeOut(BaseModel):
    node_id: str
    label: str
    connected: bool
    last_seen: str | None
    backlog: int
    held: int
    to_send: int


@router.get("/stock")
def get_stock(hub: HubDep) -> dict[str, Any]:
    return consolidated_stock(hub.store)


@router.get("/nodes", response_model=list[NodeOut])
def get_nodes(hub: HubDep) -> list[NodeOut]:
    return [
        NodeOut(**{**vars(row), "last_seen": row.last_seen.isoformat() if row.last_seen else None})
        for row in node_rows(hub.store)
    ]


@router.post("/catalog/items", response_model=OpOut)
def post_catalog_item(body: CatalogItemIn, hub: HubDep) -> OpOut:
    op = set_catalog_item(hub.store, body.sku, item_fields(body.fields), body.actor)
    hub.ops_written()
    return OpOut(origin=op.origin, seq=op.seq)


@router.get("/catalog")
def get_catalog(hub: HubDep) -> dict[str, dict[str, Any]]:
    with hub.store.read() as conn:
        return read_catalog(conn)


@router.get("/ingest")
def get_ingest(hub: HubDep) -> dict[str, Any]:
    stats = hub.ingest.stats() if hub.ingest is not None else {}
    return {
        "worker_id": hub.settings.worker_id,
        "connected": hub.ingest.connected if hub.ingest is not None else False,
        "shared_subscription": hub.ingest.shared if hub.ingest is not None else False,
        **stats,
    }


@router.get("/incidents")
def get_incidents(hub: HubDep, limit: int = 100) -> list[dict[str, Any]]:
    return hub.store.incidents(limit=min(limit, 1000))
