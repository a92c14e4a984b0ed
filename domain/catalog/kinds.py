"""Catalog op kinds: each field of an item is a last-writer-wins register."""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from sync_protocol.registry import Body, Kind

SKU_MAX: Final = 64
MAX_PRICE_FEN: Final = 100_000_000  # ¥1,000,000.00: more is a typo, not a price

Sku = Annotated[str, Field(min_length=1, max_length=SKU_MAX, pattern=r"^[0-9A-Za-z._-]+$")]
CatalogValue = str | int | bool | None


class ItemFields(BaseModel):
    """The fields HQ may set on an item, with their types and bounds. Strict: `true` is
    not a price and `"12"` is not a number; unknown fields are refused. A field left
    out (or None) is not changed."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    price_fen: StrictInt | None = Field(
        default=None, ge=0, le=MAX_PRICE_FEN, description="selling price in fen (0.01 CNY)"
    )
    unit: StrictStr | None = Field(default=None, min_length=1, max_length=16)
    barcode: StrictStr | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[0-9A-Za-z-]+$"
    )
    category: StrictStr | None = Field(default=None, min_length=1, max_length=64)

    def changes(self) -> dict[str, str | int]:
        return {k: v for k, v in self.model_dump(exclude_none=True).items()}


class CatalogItemSet(Body):
    """Register writes: each field of an item is last-writer-wins by (hlc, origin).
    Replicated bodies keep fields this release does not know (a newer hub's)."""

    sku: str = Field(min_length=1, max_length=SKU_MAX)
    fields: dict[str, CatalogValue] = Field(min_length=1)


ITEM_SET = Kind("catalog.item_set", 1, CatalogItemSet)
KINDS = (ITEM_SET,)
