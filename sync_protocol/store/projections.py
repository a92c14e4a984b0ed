"""Fold ops into the projection tables, incrementally and in bulk.

Implements the rules of `sync_protocol.merge` in SQL: stock moves add up, catalog
fields keep the write with the greatest (hlc, origin), a sale is stored once. A test
proves that rebuilding from the ops gives exactly the live tables.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import Connection, select, tuple_

from sync_protocol.ops import Op, canonical_json
from sync_protocol.store import schema
from sync_protocol.store.dialect import insert_for


def project(conn: Connection, ops: Sequence[Op]) -> None:
    dialect = conn.dialect.name
    _stock(conn, dialect, [op for op in ops if op.kind == "stock.moved"])
    _catalog(conn, dialect, [op for op in ops if op.kind == "catalog.item_set"])
    _sales(conn, dialect, [op for op in ops if op.kind == "sale.completed"])


def _stock(conn: Connection, dialect: str, ops: Sequence[Op]) -> None:
    deltas: dict[tuple[str, str], int] = {}
    for op in ops:
        key = (op.body["sku"], op.body["location"])
        deltas[key] = deltas.get(key, 0) + int(op.body["qty"])
    if not deltas:
        return
    stmt = insert_for(dialect, schema.stock_levels)
    stmt = stmt.on_conflict_do_update(
        index_elements=["sku", "location"],
        set_={"qty": schema.stock_levels.c.qty + stmt.excluded.qty},
    )
    conn.execute(
        stmt, [{"sku": s, "location": loc, "qty": q} for (s, loc), q in sorted(deltas.items())]
    )


def _catalog(conn: Connection, dialect: str, ops: Sequence[Op]) -> None:
    # Winner per (sku, field) within the batch first, then against the table.
    winners: dict[tuple[str, str], tuple[tuple[int, str], object]] = {}
    for op in ops:
        stamp = (op.hlc, op.origin)
        for name, value in op.body["fields"].items():
            key = (op.body["sku"], name)
            if key not in winners or stamp > winners[key][0]:
                winners[key] = (stamp, value)
    if not winners:
        return
    cf = schema.catalog_fields
    existing = {
        (r.sku, r.field): (r.hlc, r.origin)
        for r in conn.execute(
            select(cf.c.sku, cf.c.field, cf.c.hlc, cf.c.origin).where(
                tuple_(cf.c.sku, cf.c.field).in_(list(winners))
            )
        )
    }
    rows = [
        {
            "sku": sku,
            "field": name,
            "value": json.dumps(value, ensure_ascii=False),
            "hlc": stamp[0],
            "origin": stamp[1],
        }
        for (sku, name), (stamp, value) in sorted(winners.items())
        if (sku, name) not in existing or stamp > existing[(sku, name)]
    ]
    if not rows:
        return
    stmt = insert_for(dialect, cf)
    stmt = stmt.on_conflict_do_update(
        index_elements=["sku", "field"],
        set_={
            "value": stmt.excluded.value,
            "hlc": stmt.excluded.hlc,
            "origin": stmt.excluded.origin,
        },
    )
    conn.execute(stmt, rows)


def _sales(conn: Connection, dialect: str, ops: Sequence[Op]) -> None:
    if not ops:
        return
    stmt = insert_for(dialect, schema.sales).on_conflict_do_nothing(index_elements=["sale_id"])
    conn.execute(
        stmt,
        [
            {
                "sale_id": op.body["sale_id"],
                "origin": op.origin,
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


def clear(conn: Connection) -> None:
    for table in schema.PROJECTIONS:
        conn.execute(table.delete())
