"""Fold catalog writes into `catalog_fields`: per (SKU, field) the write with the
greatest (hlc, origin) wins, whatever order the writes arrive in."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from domain.catalog.tables import catalog_fields
from domain.registers import fold_registers
from sync_protocol.ops import Op


def apply(conn: Connection, ops: Sequence[Op]) -> None:
    writes = ((str(op.body["sku"]), op.body["fields"], (op.hlc, op.origin)) for op in ops)
    fold_registers(conn, catalog_fields, "sku", writes)
