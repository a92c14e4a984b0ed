"""Stock op kinds: a ledger of moves that add up."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import Field

from sync_protocol.registry import Body, Kind

MAX_MOVE_QTY: Final = 1_000_000_000  # far beyond any real move, well inside BIGINT

StockReason = Literal["receive", "sale", "adjust", "transfer_out", "transfer_in", "count", "return"]


class StockMoved(Body):
    """Ledger fact: `qty` units of `sku` entered (+) or left (−) `location`."""

    sku: str = Field(min_length=1, max_length=64)
    location: str = Field(min_length=1, max_length=64)
    qty: int = Field(ge=-MAX_MOVE_QTY, le=MAX_MOVE_QTY)
    reason: StockReason
    ref: str | None = Field(default=None, max_length=64)


MOVED = Kind("stock.moved", 1, StockMoved)
KINDS = (MOVED,)
