"""Sales op kinds. A sale is an owned aggregate: the node that rang it up is its only
writer, and its id is unique within that node (the origin)."""

from __future__ import annotations

from typing import Final

from pydantic import Field

from sync_protocol.registry import Body, Kind

MAX_LINE_QTY: Final = 100_000
MAX_LINES: Final = 500


class SaleLine(Body):
    sku: str = Field(min_length=1, max_length=64)
    name: str
    qty: int = Field(gt=0)
    unit_price_fen: int = Field(ge=0)
    amount_fen: int = Field(ge=0)


class SaleCompleted(Body):
    """A completed sale at a store. `sale_id` is unique per origin: made by the node
    (UUIDv7), or the till's own id for the sale, which is then its retry key."""

    sale_id: str = Field(min_length=1, max_length=64)
    location: str = Field(min_length=1, max_length=64)
    lines: list[SaleLine] = Field(min_length=1)
    total_fen: int = Field(ge=0)
    payment: str = "cash"


COMPLETED = Kind("sale.completed", 1, SaleCompleted)
KINDS = (COMPLETED,)
