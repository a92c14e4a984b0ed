"""Reads of stock on hand."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select

from domain.stock.tables import stock_levels as sl
from sync_protocol.store.base import Prepared

# Read inside every receipt's transaction: compiled once.
_QTY = Prepared(
    lambda _d: select(sl.c.qty).where(
        sl.c.sku == bindparam("sku"), sl.c.location == bindparam("location")
    )
)


def stock_qty(conn: Connection, sku: str, location: str) -> int:
    row = _QTY.first(conn, {"sku": sku, "location": location})
    return int(row[0]) if row is not None and row[0] is not None else 0


def stock_levels(conn: Connection) -> dict[tuple[str, str], int]:
    """Quantity per (sku, location), every row."""
    return {(r.sku, r.location): int(r.qty) for r in conn.execute(select(sl))}
