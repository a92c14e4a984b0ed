"""Reads of the catalog, inside a caller's transaction or on a fresh read."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select

from domain.catalog.tables import catalog_fields as cf


def catalog_item(conn: Connection, sku: str) -> dict[str, Any] | None:
    """The current fields of one item, or None if the catalog has never named it."""
    rows = conn.execute(select(cf.c.field, cf.c.value).where(cf.c.sku == sku)).all()
    if not rows:
        return None
    return {r.field: json.loads(r.value) for r in rows}


def catalog(conn: Connection) -> dict[str, dict[str, Any]]:
    """Every item's current fields, by SKU."""
    items: dict[str, dict[str, Any]] = {}
    for r in conn.execute(select(cf.c.sku, cf.c.field, cf.c.value).order_by(cf.c.sku)):
        items.setdefault(r.sku, {})[r.field] = json.loads(r.value)
    return items


def sku_for_barcode(conn: Connection, code: str) -> str | None:
    """The SKU whose `barcode` field is `code` (the lowest SKU if several are).
    Values are stored as JSON text, so the code is matched by its JSON encoding. (No
    index on (field, value) yet: a store catalog of a few thousand items is a scan of
    microseconds; add one with the barcode set of a later issue.)"""
    sku = conn.execute(
        select(cf.c.sku)
        .where(cf.c.field == "barcode", cf.c.value == json.dumps(code, ensure_ascii=False))
        .order_by(cf.c.sku)
        .limit(1)
    ).scalar()
    return None if sku is None else str(sku)
