"""The SQL side of last-writer-wins registers (`sync_protocol.merge.lww_assign`): a
projection table of one row per (key, field) holding the winning value as JSON, its
stamp (hlc, origin), folded from a batch of writes in any order. The catalog's item
fields and the staff's account fields are both kept this way."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from sqlalchemy import Connection, Table, select, tuple_

from sync_protocol.merge import Stamp
from sync_protocol.store.dialect import insert_for

Write = tuple[str, Mapping[str, object], Stamp]
"""One write: the key (SKU, staff id), the fields it sets, its stamp."""


def fold_registers(conn: Connection, table: Table, key: str, writes: Iterable[Write]) -> None:
    """Fold `writes` into `table` (columns `key`, field, value, hlc, origin): per
    (key, field) the greatest stamp wins, within the batch first, then the table."""
    winners: dict[tuple[str, str], tuple[Stamp, object]] = {}
    for k, fields, stamp in writes:
        for name, value in fields.items():
            if (k, name) not in winners or stamp > winners[(k, name)][0]:
                winners[(k, name)] = (stamp, value)
    if not winners:
        return
    kc, fc = table.c[key], table.c.field
    existing = {
        (r[0], r[1]): (r[2], r[3])
        for r in conn.execute(
            select(kc, fc, table.c.hlc, table.c.origin).where(tuple_(kc, fc).in_(list(winners)))
        )
    }
    rows = [
        {
            key: k,
            "field": name,
            "value": json.dumps(value, ensure_ascii=False),
            "hlc": stamp[0],
            "origin": stamp[1],
        }
        for (k, name), (stamp, value) in sorted(winners.items())
        if (k, name) not in existing or stamp > existing[(k, name)]
    ]
    if not rows:
        return
    stmt = insert_for(conn.dialect.name, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=[key, "field"],
        set_={
            "value": stmt.excluded.value,
            "hlc": stmt.excluded.hlc,
            "origin": stmt.excluded.origin,
        },
    )
    conn.execute(stmt, rows)
