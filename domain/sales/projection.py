"""Fold completed sales into `sales`: a sale is stored once per (origin, sale_id)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, bindparam

from domain.sales.tables import sales
from sync_protocol.ops import Op, canonical_json
from sync_protocol.store.base import Prepared
from sync_protocol.store.dialect import insert_for

_COLUMNS = ("origin", "sale_id", "seq", "location", "total_fen", "lines", "payment", "hlc", "actor")
# On every sale's path: compiled once (`Prepared`), not built and compiled per sale.
_INSERT = Prepared(
    lambda dialect: (
        insert_for(dialect, sales)
        .values({c: bindparam(c) for c in _COLUMNS})
        .on_conflict_do_nothing(index_elements=["origin", "sale_id"])
    )
)


def apply(conn: Connection, ops: Sequence[Op]) -> None:
    _INSERT.run_many(
        conn,
        [
            {
                "origin": op.origin,
                "sale_id": op.body["sale_id"],
                "seq": op.seq,
                "location": op.body["location"],
                "total_fen": op.body["total_fen"],
                "lines": canonical_json(op.body["lines"]).decode("utf-8"),
                "payment": op.body.get("payment", "cash"),
                "hlc": op.hlc,
                "actor": op.actor,
            }
            for op in ops
        ],
    )
