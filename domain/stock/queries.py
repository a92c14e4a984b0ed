"""Reads of stock on hand."""

from __future__ import annotations

from sqlalchemy import Connection, select

from domain.stock.tables import stock_levels as sl


def stock_qty(conn: Connection, sku: str, location: str) -> int:
    qty = conn.execute(select(sl.c.qty).where(sl.c.sku == sku, sl.c.location == location)).scalar()
    return int(qty or 0)


def stock_levels(conn: Connection) -> dict[tuple[str, str], int]:
    """Quantity per (sku, location), every row."""
    return {(r.sku, r.location): int(r.qty) for r in conn.execute(select(sl))}
