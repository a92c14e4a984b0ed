"""The catalog, owned by HQ: item fields are registers, relayed to every node."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from domain.catalog.kinds import ITEM_SET, ItemFields, Sku
from domain.errors import BusinessRuleError
from sync_protocol.ops import Op
from sync_protocol.store import ReplicaStore

_SKU: TypeAdapter[str] = TypeAdapter(Sku)

FIELD_NAMES_ZH = {
    "name": "名称",
    "price_fen": "价格",
    "unit": "单位",
    "barcode": "条码",
    "category": "类别",
}


def item_fields(raw: Mapping[str, Any]) -> ItemFields:
    """Fields typed in a form or sent by a script, checked against what HQ may set:
    an unknown field, a wrong type or a value out of bounds is refused, naming it."""
    try:
        return ItemFields.model_validate(dict(raw))
    except ValidationError as exc:
        names = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        zh = "、".join(FIELD_NAMES_ZH.get(n, n) for n in names)
        raise BusinessRuleError(
            f"invalid catalog fields {names}: {exc.errors(include_url=False)}",
            message_zh=f"商品字段无效：{zh}",
        ) from exc


def set_catalog_item(store: ReplicaStore, sku: str, fields: ItemFields, actor: str) -> Op:
    """Write some fields of an item; untouched fields keep their values."""
    try:
        sku = _SKU.validate_python(sku.strip())
    except ValidationError as exc:
        raise BusinessRuleError(
            f"SKU {sku!r} must be 1-64 letters, digits, '.', '_' or '-'",
            message_zh="SKU 只能是 1–64 位字母、数字、“.”、“_”或“-”",
        ) from exc
    changes = fields.changes()
    if not changes:
        raise BusinessRuleError("nothing to change", message_zh="没有需要修改的字段")
    with store.write() as txn:
        return txn.append(ITEM_SET.name, {"sku": sku, "fields": changes}, actor)
