"""Recording sales at this node."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.errors import Conflict
from domain.sales.kinds import COMPLETED
from domain.sales.queries import RecordedSale, recorded_sale
from domain.sales.rules import CartLine, PricedLine, price_cart, same_request
from domain.stock.kinds import MOVED
from edge.services.catalog import item_fields
from sync_protocol.ids import new_id
from sync_protocol.store import ReplicaStore, WriteTxn


@dataclass(frozen=True)
class Sale:
    """The answer to a sale request: the same in full for the first call and for any
    retry of it, so a till that lost the response can print the receipt."""

    sale_id: str
    lines: list[PricedLine]
    total_fen: int
    op_seq: int
    replayed: bool = False


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

    The sale's id is the till's own `sale_id` when it sends one (unique within this
    node; the hub keys sales by node and id), else a new UUIDv7. A request repeating a
    `sale_id` this node already recorded is a retry: it is answered with the recorded
    sale and writes nothing; if it asks for something else under that id, Conflict.
    Sales made at the same moment (several tills) share one commit; each returns after
    the commit that holds it, and one refused leaves the others recorded.
    """
    sid = sale_id or new_id()

    def sell(txn: WriteTxn) -> Sale:
        # A UUIDv7 made just now was never used: only a till's own id can be a retry.
        if sale_id is not None:
            earlier = recorded_sale(txn.conn, ledger.origin, sid)
            if earlier is not None:
                return _replay(earlier, cart, payment)
        lines, total = price_cart(cart, lambda sku: item_fields(txn.conn, sku))
        op = txn.append(
            COMPLETED.name,
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
                MOVED.name,
                {"sku": ln.sku, "location": location, "qty": -ln.qty, "reason": "sale", "ref": sid},
                actor,
            )
        return Sale(sid, lines, total, op.seq)

    # Tills ringing up at the same moment share one commit; each is answered after it.
    return ledger.write_together(sell)


def _replay(earlier: RecordedSale, cart: Sequence[CartLine], payment: str) -> Sale:
    if not same_request(earlier.lines, earlier.payment, cart, payment):
        raise Conflict(
            f"sale {earlier.sale_id} was already recorded with other lines or payment; "
            "a new sale needs a new sale_id",
            message_zh=(
                f"销售单 {earlier.sale_id} 已按不同的商品或付款方式记录；新销售请使用新的单号"
            ),
        )
    lines = [
        PricedLine(
            sku=str(ln["sku"]),
            name=str(ln["name"]),
            qty=int(ln["qty"]),
            unit_price_fen=int(ln["unit_price_fen"]),
            amount_fen=int(ln["amount_fen"]),
        )
        for ln in earlier.lines
    ]
    return Sale(earlier.sale_id, lines, earlier.total_fen, earlier.seq, replayed=True)
