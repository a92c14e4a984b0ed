"""Pure sales rules: pricing a cart from the catalog, and telling a till's retry from a
new request that reuses its key. Values in, values out."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import BusinessRuleError, NotFound
from domain.sales.kinds import MAX_LINE_QTY


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
        if isinstance(price, bool) or not isinstance(price, int) or price < 0:
            raise BusinessRuleError(
                f"{line.sku} has no price in the catalog",
                message_zh=f"商品 {line.sku} 尚未定价",
            )
        name = str(item.get("name") or line.sku)
        priced.append(PricedLine(line.sku, name, line.qty, price, price * line.qty))
    return priced, sum(p.amount_fen for p in priced)


def same_request(
    recorded_lines: Sequence[Mapping[str, Any]],
    recorded_payment: str,
    cart: Sequence[CartLine],
    payment: str,
) -> bool:
    """Whether a request with a sale id already used asks for the sale recorded under
    it (the till's retry) rather than a different one. Prices are not compared: a
    retry after a price change is still the same sale, at the price it was rung at."""
    asked = [(line.sku, line.qty) for line in cart]
    recorded = [(str(line["sku"]), int(line["qty"])) for line in recorded_lines]
    return asked == recorded and payment == recorded_payment
