"""Fold completed sales into `sales`: a sale is stored once per (origin, sale_id)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from domain.sales.tables import sales
from sync_protocol.ops import Op, canonical_json
from sync_protocol.store.dialect import insert_for


def apply(conn: Connection, ops: Sequence[Op]) -> None:
    stmt = insert_for(conn.dialect.name, sales).on_conflict_do_nothing(
        index_elements=["origin", "sale_id"]
    )
    conn.execute(
        stmt,
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
