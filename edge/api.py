"""The node's JSON API: receive stock, record a sale, read stock and sync state.

Every input is typed strictly and bounded (`true` is not a quantity, `"5"` is not a
number, unknown fields are refused); what the OpenAPI document says is what the code
accepts, and each route lists the error answers (`web_ui.errors.ErrorOut`) it can give.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from domain.catalog.kinds import Sku
from domain.sales.kinds import MAX_LINE_QTY, MAX_LINES
from domain.sales.rules import CartLine
from edge.access import SalesWriter, StockReader, StockWriter, SyncReader
from edge.deps import NodeDep, WritersDep
from edge.services.sales import record_sale
from edge.services.stock import MAX_RECEIVE_QTY, receive_stock
from edge.views import stock_rows, sync_view
from web_ui.errors import error_responses

router = APIRouter(prefix="/api")

# Text a person or a till typed: no control characters (a NUL is refused by PostgreSQL
# at the hub, the others are noise on a receipt).
_PRINTABLE: Final = r"^[^\x00-\x1f\x7f]+$"
Actor = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_PRINTABLE)]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_PRINTABLE)]
# A till's own id for a sale (UUID, ULID, "till-1-0001" …): its retry key at this node.
SaleId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z._:-]+$")
]
ItemSku = Annotated[Sku, Field(examples=["6901234567890"])]


def _whole_number(value: object) -> object:
    """JSON's integer 5 may be written 5.0 (JSON Schema agrees); `true`, "5", 5.5, NaN
    and Infinity stay what they are and the strict int refuses them."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Count = Annotated[int, BeforeValidator(_whole_number)]
_IGNORED: Final = "ignored: the op's actor is who the request is authenticated as"
Payment = Literal["cash", "card", "wechat", "alipay"]

# Every write: unreadable or oversized body, bad fields, writes held after a restore,
# a full disk.
_WRITE_ERRORS: Final = (400, 413, 422, 503, 507)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ReceiveIn(_In):
    sku: ItemSku
    qty: Count = Field(ge=1, le=MAX_RECEIVE_QTY, description="units received")
    actor: Actor | None = Field(default=None, deprecated=True, description=_IGNORED)
    ref: Ref | None = Field(default=None, description="delivery note or PO number")


class ReceiveOut(BaseModel):
    sku: str
    qty: int
    on_hand: int
    op_seq: int


class SaleLineIn(_In):
    sku: ItemSku
    qty: Count = Field(ge=1, le=MAX_LINE_QTY)


class SaleIn(_In):
    lines: list[SaleLineIn] = Field(min_length=1, max_length=MAX_LINES)
    payment: Payment = "cash"
    sale_id: SaleId | None = Field(
        default=None,
        description="the till's id for this sale: a retry with the same id and body is "
        "answered with the recorded sale (replayed=true); another body under it is 409",
    )
    actor: Actor | None = Field(default=None, deprecated=True, description=_IGNORED)


class SaleLineOut(BaseModel):
    sku: str
    name: str
    qty: int
    unit_price_fen: int
    amount_fen: int


class SaleOut(BaseModel):
    sale_id: str
    total_fen: int
    lines: list[SaleLineOut]
    op_seq: int
    replayed: bool


class StockRowOut(BaseModel):
    sku: str
    name: str
    qty: int
    price_fen: int | None


class SyncOut(BaseModel):
    node: str
    connected: bool
    ops_waiting: int
    last_ack_ms: int | None
    head: int
    writes_held: bool
    writes_held_reason: str | None = Field(description="why this node may not write now, or null")
    blocked_origins: list[str] = Field(
        description="origins this node applies nothing more of (equivocation: "
        "`shopfloor edge blocked`); its own id here means it may not write"
    )


_RECEIVED: Final = {
    "description": "received; on_hand is the stock here now",
    "links": {
        # Stateful tests (and readers): what was received can be sold.
        "SellIt": {
            "operationId": "record_sale",
            "requestBody": {"lines": [{"sku": "$response.body#/sku", "qty": 1}]},
        }
    },
}
_SOLD: Final = {
    "description": "the sale, or the recorded one when this is a retry (replayed=true)",
    "links": {
        "RetrySale": {
            "operationId": "record_sale",
            "requestBody": {"sale_id": "$response.body#/sale_id", "lines": "$request.body#/lines"},
        }
    },
}


@router.post(
    "/stock/receive",
    response_model=ReceiveOut,
    operation_id="receive_stock",
    responses={200: _RECEIVED, **error_responses(404, *_WRITE_ERRORS)},
)
async def post_receive(
    body: ReceiveIn, node: NodeDep, writers: WritersDep, who: StockWriter
) -> Response:
    receipt = await writers.run(
        receive_stock, node.ledger, node.location, body.sku, body.qty, who.actor, body.ref
    )
    node.ops_written()
    return _json(
        ReceiveOut(sku=receipt.sku, qty=receipt.qty, on_hand=receipt.on_hand, op_seq=receipt.op_seq)
    )


@router.post(
    "/sales",
    response_model=SaleOut,
    operation_id="record_sale",
    responses={200: _SOLD, **error_responses(404, 409, *_WRITE_ERRORS)},
)
async def post_sale(body: SaleIn, node: NodeDep, writers: WritersDep, who: SalesWriter) -> Response:
    sale = await writers.run(
        record_sale,
        node.ledger,
        node.location,
        [CartLine(line.sku, line.qty) for line in body.lines],
        who.actor,
        payment=body.payment,
        sale_id=body.sale_id,
    )
    node.ops_written()
    out = SaleOut(
        sale_id=sale.sale_id,
        total_fen=sale.total_fen,
        lines=[SaleLineOut(**vars(line)) for line in sale.lines],
        op_seq=sale.op_seq,
        replayed=sale.replayed,
    )
    return _json(out)


def _json(out: BaseModel) -> Response:
    """The answer, already a validated `response_model`, serialised once: FastAPI would
    validate it against that model again before encoding it (a write route's hot path)."""
    return Response(out.model_dump_json(), media_type="application/json")


@router.get("/stock", response_model=list[StockRowOut], operation_id="stock_here")
def get_stock(node: NodeDep, _: StockReader) -> list[StockRowOut]:
    return [StockRowOut(**row) for row in stock_rows(node)]


@router.get("/sync", response_model=SyncOut, operation_id="sync_state")
def get_sync(node: NodeDep, _: SyncReader) -> SyncOut:
    return SyncOut(**sync_view(node))
