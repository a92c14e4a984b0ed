"""Find the catalog item for a scanned code: by its ``barcode`` field first, then as a SKU.

Reads the node's catalog projection (``catalog_fields``), which the hub keeps current by
``catalog.item_set`` ops. Catalog values are stored as JSON text, so a barcode is matched
by its JSON encoding. (No index on (field, value) yet: a store catalog of a few thousand
items is a scan of microseconds; add one with the barcode set of a later issue.)
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from edge.workstations.state import CatalogHit
from sync_protocol.store import ReplicaStore, schema
from sync_protocol.store.queries import catalog_item

MAX_CODE_LENGTH = 64  # longer is not a product code; don't query for it


def _hit(sku: str, fields: dict[str, Any]) -> CatalogHit:
    price = fields.get("price_fen")
    return CatalogHit(
        sku=sku,
        name=str(fields.get("name") or sku),
        price_fen=price if isinstance(price, int) and not isinstance(price, bool) else None,
        unit=str(fields.get("unit") or ""),
    )


def lookup_code(ledger: ReplicaStore, code: str) -> CatalogHit | None:
    if not code or len(code) > MAX_CODE_LENGTH:
        return None
    cf = schema.catalog_fields
    with ledger.read() as conn:
        sku = conn.execute(
            select(cf.c.sku)
            .where(cf.c.field == "barcode", cf.c.value == json.dumps(code, ensure_ascii=False))
            .order_by(cf.c.sku)
            .limit(1)
        ).scalar()
        if sku is None:
            sku = code
        fields = catalog_item(conn, sku)
    return None if fields is None else _hit(sku, fields)
