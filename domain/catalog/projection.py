"""Fold catalog writes into `catalog_fields`: per (SKU, field) the write with the
greatest (hlc, origin) wins, whatever order the writes arrive in."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import Connection, select, tuple_

from domain.catalog.tables import catalog_fields as cf
from sync_protocol.ops import Op
from sync_protocol.store.dialect import insert_for


def apply(conn: Connection, ops: Sequence[Op]) -> None:
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
    stmt = insert_for(conn.dialect.name, cf)
    stmt = stmt.on_conflict_do_update(
        index_elements=["sku", "field"],
        set_={
            "value": stmt.excluded.value,
            "hlc": stmt.excluded.hlc,
            "origin": stmt.excluded.origin,
        },
    )
    conn.execute(stmt, rows)
