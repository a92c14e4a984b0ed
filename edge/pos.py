"""Pure till rules: pricing a cart from the catalog. Values in, values out."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import BusinessRuleError, NotFound

MAX_LINE_QTY = 100_000


@dataclass(frozen=True)
class CartLine:
    sku: str
    qty: int


@dataclass(frozen=True)
class PricedLine:
    sku: str
    name: str
    qty: int
    unit_price_fen: int
    amount_fen: int


def price_cart(
    lines: Sequence[CartLine], lookup: Callable[[str], Mapping[str, Any] | None]
) -> tuple[list[PricedLine], int]:
    """Price each line at the catalog price; the total is the sum of line amounts.

    An unknown SKU, an item without a price, or a quantity out of range stops the
    sale with a message a cashier can act on; nothing is written.
    """
    if not lines:
        raise BusinessRuleError(
            "a sale needs at least one line", message_zh="销售单至少需要一件商品"
        )
    priced: list[PricedLine] = []
    for line in lines:
        if not 0 < line.qty <= MAX_LINE_QTY:
            raise BusinessRuleError(
                f"quantity {line.qty} of {line.sku} is out of range",
                message_zh=f"商品 {line.sku} 的数量 {line.qty} 无效",
            )
        item = lookup(line.sku)
        if item is None:
            raise NotFound(f"unknown SKU {line.sku}", message_zh=f"未知商品：{line.sku}")
        price = item.get("price_fen")
        if not isinstance(price, int) or price < 0:
            raise BusinessRuleError(
                f"{line.sku} has no price in the catalog",
                message_zh=f"商品 {line.sku} 尚未定价",
            )
        name = str(item.get("name") or line.sku)
        priced.append(PricedLine(line.sku, name, line.qty, price, price * line.qty))
    return priced, sum(p.amount_fen for p in priced)
