"""Receiving stock and recording sales at this node."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.errors import BusinessRuleError, NotFound
from edge.pos import CartLine, PricedLine, price_cart
from sync_protocol.ids import new_id
from sync_protocol.store import ReplicaStore
from sync_protocol.store.queries import catalog_item, sale_exists, stock_qty

MAX_RECEIVE_QTY = 1_000_000


@dataclass(frozen=True)
class Receipt:
    sku: str
    qty: int
    on_hand: int
    op_seq: int


@dataclass(frozen=True)
class Sale:
    sale_id: str
    lines: list[PricedLine]
    total_fen: int
    op_seq: int
    replayed: bool = False


def receive_stock(
    ledger: ReplicaStore, location: str, sku: str, qty: int, actor: str, ref: str | None = None
) -> Receipt:
    """Goods arrived: add them to stock on hand at this location."""
    if not 0 < qty <= MAX_RECEIVE_QTY:
        raise BusinessRuleError(
            f"received quantity must be 1..{MAX_RECEIVE_QTY}, got {qty}",
            message_zh=f"收货数量无效：{qty}",
        )
    with ledger.write() as txn:
        if catalog_item(txn.conn, sku) is None:
            raise NotFound(f"unknown SKU {sku}", message_zh=f"未知商品：{sku}")
        op = txn.append(
            "stock.moved",
            {"sku": sku, "location": location, "qty": qty, "reason": "receive", "ref": ref},
            actor,
        )
        on_hand = stock_qty(txn.conn, sku, location)
    return Receipt(sku, qty, on_hand, op.seq)


def record_sale(
    ledger: ReplicaStore,
    location: str,
    cart: Sequence[CartLine],
    actor: str,
    *,
    payment: str = "cash",
    sale_id: str | None = None,
) -> Sale:
    """A completed sale: the sale and the stock it takes leave in one transaction.

    `sale_id` makes a retried request (a till that lost the response) a no-op.
    """
    sid = sale_id or new_id()
    with ledger.write() as txn:
        if sale_exists(txn.conn, sid):
            return Sale(sid, [], 0, 0, replayed=True)
        lines, total = price_cart(cart, lambda sku: catalog_item(txn.conn, sku))
        op = txn.append(
            "sale.completed",
            {
                "sale_id": sid,
                "location": location,
                "lines": [
                    {
                        "sku": ln.sku,
                        "name": ln.name,
                        "qty": ln.qty,
                        "unit_price_fen": ln.unit_price_fen,
                        "amount_fen": ln.amount_fen,
                    }
                    for ln in lines
                ],
                "total_fen": total,
                "payment": payment,
            },
            actor,
        )
        for ln in lines:
            txn.append(
                "stock.moved",
                {"sku": ln.sku, "location": location, "qty": -ln.qty, "reason": "sale", "ref": sid},
                actor,
            )
    return Sale(sid, lines, total, op.seq)
