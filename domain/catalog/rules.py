"""Pure catalog rules: each field of an item is a last-writer-wins register."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.catalog.kinds import ITEM_SET
from sync_protocol.merge import RegisterValue, lww_assign, stamp_of, unique
from sync_protocol.ops import Op


def catalog(ops: Iterable[Op]) -> dict[str, dict[str, Any]]:
    """Fold `catalog.item_set` writes to the current fields of each SKU."""
    items: dict[str, dict[str, RegisterValue]] = {}
    for op in unique(ops):
        if op.kind != ITEM_SET.name:
            continue
        sku = str(op.body["sku"])
        items[sku] = lww_assign(items.get(sku, {}), op.body["fields"], stamp_of(op))
    return {sku: {k: rv.value for k, rv in fields.items()} for sku, fields in items.items()}
