"""The catalog, owned by HQ: item fields are registers, relayed to every node."""

from __future__ import annotations

from typing import Any

from domain.errors import BusinessRuleError
from sync_protocol.ops import Op
from sync_protocol.store import ReplicaStore

EDITABLE_FIELDS = {"name": str, "price_fen": int, "unit": str, "barcode": str, "category": str}


def set_catalog_item(store: ReplicaStore, sku: str, fields: dict[str, Any], actor: str) -> Op:
    """Write some fields of an item; untouched fields keep their values."""
    sku = sku.strip()
    if not sku:
        raise BusinessRuleError("SKU is required", message_zh="SKU 不能为空")
    clean: dict[str, Any] = {}
    for name, value in fields.items():
        kind = EDITABLE_FIELDS.get(name)
        if kind is None:
            raise BusinessRuleError(
                f"unknown catalog field {name!r}", message_zh=f"未知字段：{name}"
            )
        if value is None or value == "":
            continue
        if kind is int:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise BusinessRuleError(
                    f"{name} must be a whole number of fen ≥ 0",
                    message_zh="价格必须是非负整数（分）",
                )
        elif not isinstance(value, str):
            raise BusinessRuleError(f"{name} must be text", message_zh=f"{name} 必须是文本")
        clean[name] = value
    if not clean:
        raise BusinessRuleError("nothing to change", message_zh="没有需要修改的字段")
    with store.write() as txn:
        return txn.append("catalog.item_set", {"sku": sku, "fields": clean}, actor)
