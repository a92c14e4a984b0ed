"""The catalog as the node's write paths read it: one item's fields, by SKU.

The same answer as `domain.catalog.queries.catalog_item`, from a statement compiled once
(`Prepared`): every sale and every receipt looks its items up inside its transaction,
and building and compiling the query each time was a fifth of a sale's CPU."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, bindparam, select

from domain.catalog.tables import catalog_fields as cf
from sync_protocol.store.base import Prepared

_FIELDS = Prepared(lambda _d: select(cf.c.field, cf.c.value).where(cf.c.sku == bindparam("sku")))


def item_fields(conn: Connection, sku: str) -> dict[str, Any] | None:
    """The current fields of one item, or None if the catalog has never named it."""
    rows = _FIELDS.all(conn, {"sku": sku})
    if not rows:
        return None
    return {str(field): json.loads(value) for field, value in rows}
