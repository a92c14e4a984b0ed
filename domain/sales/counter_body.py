"""The `sale.completed` body of a sale at the store counter (its fields and what they
mean: `domain.sales.kinds`), from the priced cart (`domain.sales.checkout`) and the
settlement of its tenders (`domain.pricing.tenders`). Fields that do not apply are left
out (a line's `code`, `weight_g`, `promotion_id`…); lists are written even when empty."""

from __future__ import annotations

from typing import Any, Final

from domain.pricing.discounts import ManualDiscount
from domain.pricing.tenders import Cash, Settlement, Tender
from domain.sales.checkout import Authorised, CartDiscount, Discount, PricedCheckout, PricedLine

NO_PAYMENT: Final = "none"  # `payment` of a sale of ¥0.00 settled with no tender


def _keyed(d: ManualDiscount) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if d.percent is not None:
        out["percent"] = d.percent
    if d.amount_fen is not None:
        out["amount_fen"] = d.amount_fen
    if d.reason is not None:
        out["reason"] = d.reason
    return out


def _discount_body(d: Discount) -> dict[str, Any]:
    out: dict[str, Any] = {"source": d.source, "scope": d.scope, "name": d.name, "fen": d.fen}
    if d.promotion_id is not None:
        out["promotion_id"] = d.promotion_id
    return out


def _line_body(p: PricedLine) -> dict[str, Any]:
    ln = p.line
    out: dict[str, Any] = {
        "sku": p.sku,
        "name": p.name,
        "qty": ln.qty,
        "unit_price_fen": ln.unit_price_fen,
        "amount_fen": ln.amount_fen,
        "discount_fen": p.discount_fen,
        "net_fen": p.net_fen,
    }
    if p.code is not None:
        out["code"] = p.code
    if ln.weight_g is not None:
        out["weight_g"] = ln.weight_g
        if p.tare_g:
            out["tare_g"] = p.tare_g
    if p.promotion_id is not None:
        out["promotion_id"] = p.promotion_id
    if p.discounts:
        out["discounts"] = [_discount_body(d) for d in p.discounts]
    if p.keyed is not None:
        out["manual_discount"] = _keyed(p.keyed)
    return out


def _cart_body(c: CartDiscount) -> dict[str, Any]:
    out: dict[str, Any] = {"source": c.source, "name": c.name, "fen": c.fen}
    if c.promotion_id is not None:
        out["promotion_id"] = c.promotion_id
    if c.keyed is not None:
        out |= _keyed(c.keyed)
    return out


def tender_body(t: Tender) -> dict[str, Any]:
    """A tender as the sale records it: a cash tender's amount is what was handed over."""
    if isinstance(t, Cash):
        return {"type": "cash", "amount_fen": t.tendered_fen}
    out: dict[str, Any] = {"type": t.type, "amount_fen": t.amount_fen}
    if t.reference is not None:
        out["reference"] = t.reference
    return out


def _authorised_body(a: Authorised) -> dict[str, Any]:
    out: dict[str, Any] = {
        "action": a.action,
        "on": a.on,
        "fen": a.fen,
        "base_fen": a.base_fen,
        "by": a.by,
        "role": a.role,
        "detail": a.detail,
    }
    if a.line is not None:
        out["line"] = a.line
    if a.sku is not None:
        out["sku"] = a.sku
    return out


def sale_body(
    priced: PricedCheckout,
    settlement: Settlement,
    *,
    sale_id: str,
    location: str,
    member: bool,
) -> dict[str, Any]:
    """The `sale.completed` body of a counter sale (its fields: `domain.sales.kinds`)."""
    tenders = [tender_body(t) for t in settlement.tenders]
    return {
        "sale_id": sale_id,
        "location": location,
        "lines": [_line_body(p) for p in priced.lines],
        "total_fen": priced.total_fen,
        "payment": tenders[0]["type"] if tenders else NO_PAYMENT,
        "subtotal_fen": priced.subtotal_fen,
        "discount_fen": priced.subtotal_fen - priced.total_fen,
        "cart_discounts": [_cart_body(c) for c in priced.cart_discounts],
        "tenders": tenders,
        "change_fen": settlement.change_fen,
        "rounding_fen": settlement.rounding_fen,
        "paid_fen": settlement.paid_fen,
        "member": member,
        "authorised": [_authorised_body(a) for a in priced.authorised],
    }
