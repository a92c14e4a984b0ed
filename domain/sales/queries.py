"""Reads of recorded sales."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from domain.sales.tables import sales as s


@dataclass(frozen=True)
class RecordedSale:
    origin: str
    sale_id: str
    seq: int
    location: str
    total_fen: int
    lines: list[dict[str, Any]]
    payment: str
    actor: str


def recorded_sale(conn: Connection, origin: str, sale_id: str) -> RecordedSale | None:
    """The sale `origin` recorded under `sale_id`, or None."""
    row = conn.execute(select(s).where(s.c.origin == origin, s.c.sale_id == sale_id)).first()
    if row is None:
        return None
    return RecordedSale(
        origin=row.origin,
        sale_id=row.sale_id,
        seq=int(row.seq),
        location=row.location,
        total_fen=int(row.total_fen),
        lines=json.loads(row.lines),
        payment=row.payment,
        actor=row.actor,
    )


def all_sales(conn: Connection) -> list[RecordedSale]:
    rows = conn.execute(select(s.c.origin, s.c.sale_id).order_by(s.c.origin, s.c.seq)).all()
    found = (recorded_sale(conn, r.origin, r.sale_id) for r in rows)
    return [sale for sale in found if sale is not None]


def sales_totals(conn: Connection, location: str) -> tuple[int, int]:
    """(number of sales, total fen) at a location."""
    row = conn.execute(
        select(func.count(), func.coalesce(func.sum(s.c.total_fen), 0)).where(
            s.c.location == location
        )
    ).one()
    return int(row[0]), int(row[1])
