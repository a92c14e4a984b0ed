"""The op kinds and their body schemas.

A kind is versioned (`v`). Bodies keep fields they do not know (`extra="allow"`) so an
older node stores and relays a newer node's ops untouched; fields are only ever added,
never renamed or dropped. An op of a kind this code does not know is stored and
relayed but folds into no projection.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sync_protocol.errors import InvalidOp


class Body(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


StockReason = Literal["receive", "sale", "adjust", "transfer_out", "transfer_in", "count", "return"]


class StockMoved(Body):
    """Ledger fact: `qty` units of `sku` entered (+) or left (−) `location`."""

    sku: str = Field(min_length=1, max_length=64)
    location: str = Field(min_length=1, max_length=64)
    qty: int
    reason: StockReason
    ref: str | None = None


class SaleLine(Body):
    sku: str = Field(min_length=1, max_length=64)
    name: str
    qty: int = Field(gt=0)
    unit_price_fen: int = Field(ge=0)
    amount_fen: int = Field(ge=0)


class SaleCompleted(Body):
    """An owned aggregate's final state: a completed sale at a store."""

    sale_id: str = Field(min_length=1, max_length=64)
    location: str = Field(min_length=1, max_length=64)
    lines: list[SaleLine] = Field(min_length=1)
    total_fen: int = Field(ge=0)
    payment: str = "cash"


CatalogValue = str | int | bool | None


class CatalogItemSet(Body):
    """Register writes: each field of an item is last-writer-wins by (hlc, origin)."""

    sku: str = Field(min_length=1, max_length=64)
    fields: dict[str, CatalogValue] = Field(min_length=1)


KINDS: dict[str, tuple[int, type[Body]]] = {
    "stock.moved": (1, StockMoved),
    "sale.completed": (1, SaleCompleted),
    "catalog.item_set": (1, CatalogItemSet),
}


def validate_body(kind: str, v: int, body: dict[str, Any]) -> Body | None:
    """Validate a body against its kind's schema. Unknown kinds return None (kept
    verbatim); a known kind whose body is invalid raises InvalidOp."""
    entry = KINDS.get(kind)
    if entry is None:
        return None
    _, schema = entry
    try:
        return schema.model_validate(body)
    except ValidationError as exc:
        raise InvalidOp(
            f"{kind} v{v} body invalid: {exc.errors(include_url=False)}",
            message_zh=f"操作 {kind} 的内容无效",
        ) from exc
