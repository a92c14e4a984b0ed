"""Find the catalog item for a scanned code: by its ``barcode`` field first, then as a SKU.

Reads the node's catalog projection, which the hub keeps current by catalog ops.
"""

from __future__ import annotations

from typing import Any

from domain.catalog.queries import catalog_item, sku_for_barcode
from edge.workstations.state import CatalogHit
from sync_protocol.store import ReplicaStore

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
    with ledger.read() as conn:
        sku = sku_for_barcode(conn, code) or code
        fields = catalog_item(conn, sku)
    return None if fields is None else _hit(sku, fields)
