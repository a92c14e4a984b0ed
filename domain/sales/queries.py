"""Reads of recorded sales."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from domain.sales.tables import sales as s
from sync_protocol.store import schema
from sync_protocol.store.base import Prepared


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


# The retry check runs inside every sale that carries the till's id: compiled once.
_COLUMNS = ("origin", "sale_id", "seq", "location", "total_fen", "lines", "payment", "actor")
_ONE_SALE = Prepared(
    lambda _d: select(*(s.c[c] for c in _COLUMNS)).where(
        s.c.origin == bindparam("origin"), s.c.sale_id == bindparam("sale_id")
    )
)


def recorded_sale(conn: Connection, origin: str, sale_id: str) -> RecordedSale | None:
    """The sale `origin` recorded under `sale_id`, or None."""
    row = _ONE_SALE.first(conn, {"origin": origin, "sale_id": sale_id})
    if row is None:
        return None
    origin_, sale_id_, seq, location, total_fen, lines, payment, actor = row
    return RecordedSale(
        origin=str(origin_),
        sale_id=str(sale_id_),
        seq=int(seq),
        location=str(location),
        total_fen=int(total_fen),
        lines=json.loads(lines),
        payment=str(payment),
        actor=str(actor),
    )


_OP_BODY = Prepared(
    lambda _d: select(schema.ops.c.body).where(
        schema.ops.c.origin == bindparam("origin"), schema.ops.c.seq == bindparam("seq")
    )
)


def sale_body(conn: Connection, sale: RecordedSale) -> dict[str, Any]:
    """The recorded sale's op body in full (tenders, discounts, change… of a counter
    sale), read from the op log. A node compacts ops the hub holds after some days
    (docs/compaction.md): then the body is rebuilt from the projection's row (lines,
    total, payment), which is all a sale of the first release had anyway."""
    row = _OP_BODY.first(conn, {"origin": sale.origin, "seq": sale.seq})
    if row is not None:
        body = json.loads(row[0])
        if isinstance(body, dict) and body.get("sale_id") == sale.sale_id:
            return body
    return {
        "sale_id": sale.sale_id,
        "location": sale.location,
        "lines": sale.lines,
        "total_fen": sale.total_fen,
        "payment": sale.payment,
    }


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
