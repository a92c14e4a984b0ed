"""Pure sales rules: pricing a cart from the catalog, and telling a till's retry from a
new request that reuses its key (`same_request` for `record_sale`, `same_checkout` for
the store counter's checkout). Values in, values out."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import BusinessRuleError, NotFound
from domain.pricing.discounts import ManualDiscount
from domain.pricing.tenders import Cash, Tender
from domain.sales.checkout import CheckoutLine
from domain.sales.counter_body import tender_body
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


# --- the store counter's checkout (`domain.sales.checkout`) ---------------------------


def _keyed_key(d: Mapping[str, Any] | None) -> tuple[Any, Any] | None:
    return None if d is None else (d.get("percent"), d.get("amount_fen"))


def _manual_key(d: ManualDiscount | None) -> tuple[Any, Any] | None:
    return None if d is None else (d.percent, d.amount_fen)


def _asked_line(line: CheckoutLine) -> tuple[Any, ...]:
    if line.code is not None:
        return ("code", line.code, line.qty, _manual_key(line.discount))
    net = None if line.weight_g is None else line.weight_g - line.tare_g
    return ("sku", line.sku, line.qty, net, _manual_key(line.discount))


def _recorded_line(line: Mapping[str, Any]) -> tuple[Any, ...]:
    keyed = _keyed_key(line.get("manual_discount"))
    if line.get("code") is not None:
        return ("code", line["code"], int(line["qty"]), keyed)
    return ("sku", line["sku"], int(line["qty"]), line.get("weight_g"), keyed)


def applied_order(tenders: Sequence[Tender]) -> list[Tender]:
    """Tenders in the order `settle` applies them: non-cash as given, then cash."""
    return [t for t in tenders if not isinstance(t, Cash)] + [
        t for t in tenders if isinstance(t, Cash)
    ]


def same_checkout(
    recorded: Mapping[str, Any],
    lines: Sequence[CheckoutLine],
    tenders: Sequence[Tender],
    *,
    discount: ManualDiscount | None,
    member: bool,
) -> bool:
    """Whether a checkout under a sale id already used asks for the sale recorded under
    it (the till's retry) rather than another one: the same lines (code or SKU,
    quantity or net weight, the cashier's discount as keyed), the same discount on the
    sale, the same tenders (in the order applied: non-cash first, then cash) and member
    flag. Prices and promotions are not compared: a retry after a change is the same
    sale, at what it was rung up at. A sale recorded by `record_sale` has no tenders."""
    recorded_cart = [c for c in recorded.get("cart_discounts") or () if c.get("source") == "manual"]
    recorded_tenders = [
        (t["type"], t["amount_fen"], t.get("reference")) for t in recorded.get("tenders") or ()
    ]
    asked_tenders = [
        (b["type"], b["amount_fen"], b.get("reference"))
        for b in map(tender_body, applied_order(tenders))
    ]
    return (
        [_recorded_line(ln) for ln in recorded["lines"]] == [_asked_line(ln) for ln in lines]
        and (_keyed_key(recorded_cart[0]) if recorded_cart else None) == _manual_key(discount)
        and recorded_tenders == asked_tenders
        and bool(recorded.get("member")) == member
    )
