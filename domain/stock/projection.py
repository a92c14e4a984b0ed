"""Fold stock moves into `stock_levels`: each batch adds its net change per SKU ×
location, so order and batching do not matter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam

from domain.stock.rules import deltas
from domain.stock.tables import stock_levels as sl
from sync_protocol.ops import Op
from sync_protocol.store.base import Prepared
from sync_protocol.store.dialect import insert_for


def _add_statement(dialect: str) -> Any:
    stmt = insert_for(dialect, sl).values(
        sku=bindparam("sku"), location=bindparam("location"), qty=bindparam("qty")
    )
    return stmt.on_conflict_do_update(
        index_elements=["sku", "location"], set_={"qty": sl.c.qty + stmt.excluded.qty}
    )


# On every sale's path: compiled once (`Prepared`), not built and compiled per sale.
_ADD = Prepared(_add_statement)


def apply(conn: Connection, ops: Sequence[Op]) -> None:
    net = deltas((op.body["sku"], op.body["location"], int(op.body["qty"])) for op in ops)
    if not net:
        return
    _ADD.run_many(
        conn, [{"sku": s, "location": loc, "qty": q} for (s, loc), q in sorted(net.items())]
    )
