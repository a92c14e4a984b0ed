"""The hub's JSON API: consolidated stock, nodes, catalog writes, sync incidents.

Every input is typed strictly and bounded; what the OpenAPI document says is what the
code accepts, and each route lists the error answers (`web_ui.errors.ErrorOut`) it can give.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Query
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from cloud.access import CatalogWriter, NodesReader, StockReader
from cloud.deps import HubDep
from cloud.services.catalog import set_catalog_item
from cloud.views import consolidated_stock, node_rows
from domain.catalog.kinds import ItemFields, Sku
from domain.catalog.queries import catalog as read_catalog
from web_ui.errors import error_responses

router = APIRouter(prefix="/api")

# Text a person typed: no control characters (PostgreSQL refuses a NUL in text).
_PRINTABLE: Final = r"^[^\x00-\x1f\x7f]+$"
Actor = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_PRINTABLE)]
MAX_INCIDENTS: Final = 1000


def _fields_schema() -> dict[str, Any]:
    """ItemFields as the API takes it: each field optional, none null, at least one.
    (In ItemFields a None means "unchanged"; over the API a field left out does.)"""
    schema = ItemFields.model_json_schema()
    for name, prop in schema["properties"].items():
        variants = [s for s in prop.pop("anyOf", [prop.copy()]) if s.get("type") != "null"]
        prop.update(variants[0])
        prop.pop("default", None)
        if name in ("name", "unit", "category"):
            prop["pattern"] = _PRINTABLE
    schema["minProperties"] = 1
    schema["description"] = (
        "The fields HQ may set on an item, with their types and bounds. Strict: `true` is "
        'not a price and `"12"` is not a number; unknown fields and nulls are refused. '
        "A field left out is not changed."
    )
    return schema


class CatalogItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    sku: Annotated[Sku, Field(examples=["6901234567890"])]
    fields: Annotated[ItemFields, WithJsonSchema(_fields_schema())] = Field(
        description="the fields to set; fields left out keep their values",
        examples=[{"name": "可口可乐 330ml", "price_fen": 350}],
    )
    actor: Actor | None = Field(
        default=None,
        deprecated=True,
        description="ignored: the op's actor is who the request is authenticated as",
    )

    @field_validator("fields", mode="before")
    @classmethod
    def _some_fields_no_nulls(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value  # ItemFields says what is wrong
        if not value:
            raise PydanticCustomError(
                "value_error",
                "name at least one field to set",
                {"message_zh": "至少需要一个要修改的字段"},
            )
        known = ItemFields.model_fields
        nulls = sorted(k for k, v in value.items() if v is None and k in known)
        if nulls:
            raise PydanticCustomError(
                "value_error",
                "null is not a value ({names}): leave a field out to keep it unchanged",
                {
                    "names": ", ".join(nulls),
                    "message_zh": f"字段不能为 null（{'、'.join(nulls)}）；不修改的字段请省略",
                },
            )
        price = value.get("price_fen")
        if isinstance(price, float) and price.is_integer():
            # JSON's integer 350 may be written 350.0 (JSON Schema agrees); `true`, "350",
            # 3.5, NaN and Infinity stay what they are and ItemFields refuses them.
            value = {**value, "price_fen": int(price)}
        texts = ("name", "unit", "category")
        controls = sorted(
            k for k in texts if isinstance(value.get(k), str) and not _printable(value[k])
        )
        if controls:
            raise PydanticCustomError(
                "value_error",
                "control characters are not allowed in {names}",
                {
                    "names": ", ".join(controls),
                    "message_zh": f"{'、'.join(controls)} 中不能含控制字符",
                },
            )
        return value


def _printable(text: str) -> bool:
    return not any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)


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
    blocked_reason: str | None = Field(
        description="why the hub applies nothing more of this node's ops (equivocation: "
        "`shopfloor cloud blocked`), or null"
    )


class LocationOut(BaseModel):
    id: str
    label: str


class StockRowOut(BaseModel):
    sku: str
    name: str
    price_fen: int | None
    by_location: dict[str, int]
    total: int


class StockOut(BaseModel):
    locations: list[LocationOut]
    rows: list[StockRowOut]
    totals: dict[str, int]
    grand_total: int


class IngestOut(BaseModel):
    worker_id: str
    connected: bool
    shared_subscription: bool
    sessions: int | None = None
    ops_received: int | None = None
    ops_applied: int | None = None
    duplicates: int | None = None
    rejected: int | None = None
    pages_sent: int | None = None
    leases: int | None = Field(
        default=None, description="nodes whose sync session this worker runs (it holds their lease)"
    )
    forwarded: int | None = Field(
        default=None,
        description="nodes' messages passed on to the worker serving them (young leases only)",
    )


class IncidentOut(BaseModel):
    id: int
    at_ms: int = Field(description="the first of its kind from this source (ms since epoch)")
    last_ms: int | None = Field(description="the latest (ms since epoch)")
    kind: str
    count: int = Field(description="how many of this kind from this source since at_ms")
    peer: str | None
    origin: str | None
    seq: int | None
    disposition: str
    reason: str
    payload: str | None


@router.get("/stock", response_model=StockOut, operation_id="consolidated_stock")
def get_stock(hub: HubDep, _: StockReader) -> StockOut:
    return StockOut.model_validate(consolidated_stock(hub.store))


@router.get("/nodes", response_model=list[NodeOut], operation_id="nodes")
def get_nodes(hub: HubDep, _: NodesReader) -> list[NodeOut]:
    return [
        NodeOut(**{**vars(row), "last_seen": row.last_seen.isoformat() if row.last_seen else None})
        for row in node_rows(hub.store)
    ]


@router.post(
    "/catalog/items",
    response_model=OpOut,
    operation_id="set_catalog_item",
    responses={
        200: {"description": "the catalog.item_set op written (relayed to every node)"},
        **error_responses(400, 413, 422, 507),
    },
)
def post_catalog_item(body: CatalogItemIn, hub: HubDep, who: CatalogWriter) -> OpOut:
    op = set_catalog_item(hub.store, body.sku, body.fields, who.actor)
    hub.ops_written()
    return OpOut(origin=op.origin, seq=op.seq)


@router.get("/catalog", operation_id="catalog")
def get_catalog(hub: HubDep, _: StockReader) -> dict[str, dict[str, Any]]:
    with hub.store.read() as conn:
        return read_catalog(conn)


@router.get("/ingest", response_model=IngestOut, operation_id="ingest_state")
def get_ingest(hub: HubDep, _: NodesReader) -> IngestOut:
    stats = hub.ingest.stats() if hub.ingest is not None else {}
    return IngestOut(
        worker_id=hub.settings.worker_id,
        connected=hub.ingest.connected if hub.ingest is not None else False,
        shared_subscription=hub.ingest.shared if hub.ingest is not None else False,
        **stats,
    )


@router.get(
    "/incidents",
    response_model=list[IncidentOut],
    operation_id="incidents",
    responses=error_responses(422),
)
def get_incidents(
    hub: HubDep,
    _: NodesReader,
    limit: Annotated[
        int, Query(ge=1, le=MAX_INCIDENTS, description="newest first, at most this many")
    ] = 100,
) -> list[IncidentOut]:
    return [IncidentOut(**row) for row in hub.store.incidents(limit=limit)]
