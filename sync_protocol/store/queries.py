"""Reads of the projections inside a caller's transaction (services validate against
current state and write ops in the same transaction)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, func, select

from sync_protocol.store import schema


def catalog_item(conn: Connection, sku: str) -> dict[str, Any] | None:
    cf = schema.catalog_fields
    rows = conn.execute(select(cf.c.field, cf.c.value).where(cf.c.sku == sku)).all()
    if not rows:
        return None
    return {r.field: json.loads(r.value) for r in rows}


def stock_qty(conn: Connection, sku: str, location: str) -> int:
    sl = schema.stock_levels
    qty = conn.execute(select(sl.c.qty).where(sl.c.sku == sku, sl.c.location == location)).scalar()
    return int(qty or 0)


def sale_exists(conn: Connection, sale_id: str) -> bool:
    return (
        conn.execute(
            select(schema.sales.c.sale_id).where(schema.sales.c.sale_id == sale_id)
        ).first()
        is not None
    )


def sales_totals(conn: Connection, location: str) -> tuple[int, int]:
    """(number of sales, total fen) at a location."""
    s = schema.sales
    row = conn.execute(
        select(func.count(), func.coalesce(func.sum(s.c.total_fen), 0)).where(
            s.c.location == location
        )
    ).one()
    return int(row[0]), int(row[1])
