"""Receiving stock at this node."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import BusinessRuleError, NotFound
from domain.stock.kinds import MOVED
from domain.stock.queries import stock_qty
from edge.services.catalog import item_fields
from sync_protocol.store import ReplicaStore, WriteTxn

MAX_RECEIVE_QTY = 1_000_000


@dataclass(frozen=True)
class Receipt:
    sku: str
    qty: int
    on_hand: int
    op_seq: int


def receive_stock(
    ledger: ReplicaStore, location: str, sku: str, qty: int, actor: str, ref: str | None = None
) -> Receipt:
    """Goods arrived: add them to stock on hand at this location."""
    if isinstance(qty, bool) or not 0 < qty <= MAX_RECEIVE_QTY:
        raise BusinessRuleError(
            f"received quantity must be 1..{MAX_RECEIVE_QTY}, got {qty}",
            message_zh=f"收货数量无效：{qty}",
        )

    def receive(txn: WriteTxn) -> Receipt:
        if item_fields(txn.conn, sku) is None:
            raise NotFound(f"unknown SKU {sku}", message_zh=f"未知商品：{sku}")
        op = txn.append(
            MOVED.name,
            {"sku": sku, "location": location, "qty": qty, "reason": "receive", "ref": ref},
            actor,
        )
        return Receipt(sku, qty, stock_qty(txn.conn, sku, location), op.seq)

    return ledger.write_together(receive)
