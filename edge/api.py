"""The node's JSON API: receive stock, record a sale, read stock and sync state."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from domain.sales.rules import CartLine
from edge.deps import NodeDep
from edge.services.sales import record_sale
from edge.services.stock import receive_stock
from edge.views import stock_rows, sync_view

router = APIRouter(prefix="/api")


class ReceiveIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    qty: int
    actor: str = Field(default="api", max_length=64)
    ref: str | None = Field(default=None, max_length=64)


class ReceiveOut(BaseModel):
    sku: str
    qty: int
    on_hand: int
    op_seq: int


class SaleLineIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    qty: int


class SaleIn(BaseModel):
    lines: list[SaleLineIn] = Field(min_length=1, max_length=500)
    payment: str = Field(default="cash", max_length=32)
    sale_id: str | None = Field(default=None, min_length=1, max_length=64)
    actor: str = Field(default="api", max_length=64)


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


@router.post("/stock/receive", response_model=ReceiveOut)
def post_receive(body: ReceiveIn, node: NodeDep) -> ReceiveOut:
    receipt = receive_stock(node.ledger, node.location, body.sku, body.qty, body.actor, body.ref)
    node.ops_written()
    return ReceiveOut(
        sku=receipt.sku, qty=receipt.qty, on_hand=receipt.on_hand, op_seq=receipt.op_seq
    )


@router.post("/sales", response_model=SaleOut)
def post_sale(body: SaleIn, node: NodeDep) -> SaleOut:
    sale = record_sale(
        node.ledger,
        node.location,
        [CartLine(line.sku, line.qty) for line in body.lines],
        body.actor,
        payment=body.payment,
        sale_id=body.sale_id,
    )
    node.ops_written()
    return SaleOut(
        sale_id=sale.sale_id,
        total_fen=sale.total_fen,
        lines=[SaleLineOut(**vars(line)) for line in sale.lines],
        op_seq=sale.op_seq,
        replayed=sale.replayed,
    )


@router.get("/stock", response_model=list[StockRowOut])
def get_stock(node: NodeDep) -> list[StockRowOut]:
    return [StockRowOut(**row) for row in stock_rows(node)]


@router.get("/sync", response_model=SyncOut)
def get_sync(node: NodeDep) -> SyncOut:
    return SyncOut(**sync_view(node))
