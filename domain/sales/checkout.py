"""A sale at the store counter, priced: the rules of `domain.pricing` in the order a sale
goes through them, and the `sale.completed` body that records the outcome. Pure: the
catalog comes in as two lookups, the body goes out as a dict; the node's service
(`edge.services.checkout`) opens the transaction, writes the ops and answers.

1. **Resolve** each line to a catalog item. A line names a SKU, or carries a scanned
   code. A code of one of the store's price-embedded layouts (`price_embedded.decode`)
   names its item by PLU, the item whose SKU is the PLU, else the one whose `barcode`
   is (a store numbers its scale items one way or the other), and brings its price or
   its weight with it. Any other code is an item's `barcode`, else a SKU.
2. **Price** it at the catalog price: `qty` × price; goods sold by weight at the price
   per kg × the net weight (`weighed.weigh`: the line's `weight_g` less its `tare_g`, or
   a weight label's grams); a price label at its own price (the scale priced it).
3. **Promotions** (`promotions.apply_promotions`, at the store's local time).
4. **The cashier's discounts**: each line's, on what the line costs after promotions,
   then the one on the whole sale, on what is left, shared across the lines by their
   amounts. Each within the cashier's role limit or it raises `NeedsAuthorisation`;
   given `authorised_by` (a supervisor whose PIN the counter checked), over the
   cashier's limit is within the supervisor's, and the sale records who authorised
   which. `authorisation_fields(exc)` says which request field needed it.
5. **Settle** (`tenders.settle`): done by the caller on `PricedCheckout.total_fen`.

The op body of the outcome is `domain.sales.counter_body.sale_body`; telling a till's
retry from a new request is `domain.sales.rules.same_checkout`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Final, Literal

from domain.catalog.kinds import MAX_PRICE_FEN
from domain.errors import BusinessRuleError, NotFound
from domain.pricing.discounts import CounterLimits, ManualDiscount, cart_discount, item_discount
from domain.pricing.errors import NeedsAuthorisation
from domain.pricing.money import allocate
from domain.pricing.price_embedded import (
    CHINA_SCALE_PRICE,
    CHINA_SCALE_WEIGHT,
    EmbeddedLayout,
    decode,
)
from domain.pricing.promotions import Line, PromotionSet, apply_promotions
from domain.pricing.weighed import weigh
from domain.sales.kinds import MAX_LINE_QTY, MAX_LINES

#: The layouts of most label scales in China: "20" price labels, "21" weight labels.
CHINA_SCALE_LAYOUTS: Final = (CHINA_SCALE_PRICE, CHINA_SCALE_WEIGHT)
MANUAL_LINE_NAME: Final = "手工折扣"
MANUAL_CART_NAME: Final = "整单折扣"

Lookup = Callable[[str], Mapping[str, Any] | None]  # SKU → the item's fields
ByBarcode = Callable[[str], str | None]  # a code → the SKU whose `barcode` it is
AuthorisedBy = tuple[str, str]  # (staff id, role) of whoever gave their PIN


@dataclass(frozen=True)
class CheckoutLine:
    """One line as the till sends it: a `sku` or a scanned `code` (one of them); a `qty`,
    or for goods sold by weight (with a SKU) the `weight_g` the scale settled at, less
    `tare_g`; and the cashier's own `discount` on it, if any."""

    sku: str | None = None
    code: str | None = None
    qty: int = 1
    weight_g: int | None = None
    tare_g: int = 0
    discount: ManualDiscount | None = None


@dataclass(frozen=True)
class Discount:
    """One discount on a line (`scope` "line"), or its share of one on the whole sale
    (`scope` "cart"); `source` is "promotion" or "manual" (the cashier's)."""

    source: Literal["promotion", "manual"]
    scope: Literal["line", "cart"]
    name: str
    fen: int
    promotion_id: str | None = None


@dataclass(frozen=True)
class PricedLine:
    sku: str
    name: str
    line: Line  # as rung up at catalog price (qty 1 and the price per kg when weighed)
    code: str | None = None
    tare_g: int = 0
    keyed: ManualDiscount | None = None
    discounts: tuple[Discount, ...] = ()

    @property
    def discount_fen(self) -> int:
        return sum(d.fen for d in self.discounts)

    @property
    def net_fen(self) -> int:
        return self.line.amount_fen - self.discount_fen

    @property
    def promotion_id(self) -> str | None:
        own = [d for d in self.discounts if d.source == "promotion" and d.scope == "line"]
        return own[0].promotion_id if own else None


@dataclass(frozen=True)
class CartDiscount:
    source: Literal["promotion", "manual"]
    name: str
    fen: int
    promotion_id: str | None = None
    keyed: ManualDiscount | None = None


@dataclass(frozen=True)
class Authorised:
    """A discount over the cashier's limit, and who authorised it."""

    action: str
    on: Literal["line", "cart"]
    fen: int
    base_fen: int
    by: str
    role: str
    detail: str
    line: int | None = None
    sku: str | None = None


@dataclass(frozen=True)
class PricedCheckout:
    lines: tuple[PricedLine, ...]
    cart_discounts: tuple[CartDiscount, ...] = ()
    authorised: tuple[Authorised, ...] = field(default=())

    @property
    def subtotal_fen(self) -> int:
        return sum(p.line.amount_fen for p in self.lines)

    @property
    def total_fen(self) -> int:
        return sum(p.net_fen for p in self.lines)


# --- 1 and 2: resolving and pricing the lines --------------------------------------------


def _price_of(sku: str, item: Mapping[str, Any]) -> int:
    price = item.get("price_fen")
    if isinstance(price, bool) or not isinstance(price, int) or not 0 <= price <= MAX_PRICE_FEN:
        raise BusinessRuleError(
            f"{sku} has no price in the catalog", message_zh=f"商品 {sku} 尚未定价"
        )
    return price


def _item(sku: str, lookup: Lookup, shown: str) -> Mapping[str, Any]:
    item = lookup(sku)
    if item is None:
        raise NotFound(f"unknown item {shown}", message_zh=f"未知商品：{shown}")
    return item


def _plu_sku(plu: str, code: str, lookup: Lookup, by_barcode: ByBarcode) -> str:
    if lookup(plu) is not None:
        return plu
    sku = by_barcode(plu)
    if sku is None:
        raise NotFound(
            f"scale label {code}: no item has PLU {plu}",
            message_zh=f"称重标签 {code}：没有 PLU 为 {plu} 的商品",
        )
    return sku


def _check_shape(i: int, line: CheckoutLine) -> None:
    if (line.sku is None) == (line.code is None):
        raise BusinessRuleError(
            f"line {i + 1}: give a SKU or a scanned code, one of them",
            message_zh=f"第 {i + 1} 行：请提供商品编码或扫描条码，二选一",
        )
    if not 0 < line.qty <= MAX_LINE_QTY:
        raise BusinessRuleError(
            f"line {i + 1}: quantity {line.qty} is out of range",
            message_zh=f"第 {i + 1} 行：数量 {line.qty} 无效",
        )
    if line.weight_g is not None and (line.code is not None or line.qty != 1):
        raise BusinessRuleError(
            f"line {i + 1}: a weight goes with a SKU and quantity 1",
            message_zh=f"第 {i + 1} 行：称重商品请提供商品编码，数量为 1",
        )


def _resolve(
    i: int,
    line: CheckoutLine,
    lookup: Lookup,
    by_barcode: ByBarcode,
    layouts: Sequence[EmbeddedLayout],
) -> PricedLine:
    _check_shape(i, line)
    if line.code is not None:
        code = line.code
        embedded = decode(code, layouts)
        if embedded is None:
            sku = by_barcode(code) or code
            item = _item(sku, lookup, code)
            counted = Line.counted(sku, line.qty, _price_of(sku, item))
            return _priced(sku, item, counted, line, code)
        sku = _plu_sku(embedded.plu, code, lookup, by_barcode)
        item = _item(sku, lookup, code)
        if embedded.price_fen is not None:  # the scale priced the pack: its price it is
            return _priced(sku, item, Line.counted(sku, line.qty, embedded.price_fen), line, code)
        assert embedded.weight_g is not None
        if line.qty != 1:
            raise BusinessRuleError(
                f"scale label {code} is one pack: scan each pack",
                message_zh=f"称重标签 {code} 为单件商品，请逐件扫描",
            )
        price = _price_of(sku, item)
        weighed = weigh(price, embedded.weight_g)
        return _priced(sku, item, Line.weighed(sku, price, weighed.net_g), line, code)
    assert line.sku is not None
    sku = line.sku
    item = _item(sku, lookup, sku)
    price = _price_of(sku, item)
    if line.weight_g is None:
        return _priced(sku, item, Line.counted(sku, line.qty, price), line, None)
    weighed = weigh(price, line.weight_g, tare_g=line.tare_g)
    return _priced(sku, item, Line.weighed(sku, price, weighed.net_g), line, None)


def _priced(
    sku: str, item: Mapping[str, Any], priced: Line, line: CheckoutLine, code: str | None
) -> PricedLine:
    name = str(item.get("name") or sku)
    tare = line.tare_g if line.weight_g is not None else 0
    return PricedLine(sku, name, priced, code=code, tare_g=tare, keyed=line.discount)


# --- 3 and 4: promotions and the cashier's discounts -----------------------------------

_FIELD_ATTR: Final = "checkout_fields"


def authorisation_fields(exc: NeedsAuthorisation) -> list[str]:
    """The request fields whose discount needed the authorisation: `lines[2].discount`,
    or `discount` (the one on the whole sale)."""
    return list(getattr(exc, _FIELD_ATTR, ()))


def _within(
    check: Callable[..., int],
    *,
    where: str,
    authorised_by: AuthorisedBy | None,
) -> tuple[int, NeedsAuthorisation | None]:
    """The discount `check` (a rule of `discounts` but for `authoriser_role`) allows the
    cashier, or, given an authoriser, the authoriser; with the NeedsAuthorisation it first
    raised when the authoriser was needed."""
    try:
        return check(authoriser_role=None), None
    except NeedsAuthorisation as first:
        if authorised_by is None:
            setattr(first, _FIELD_ATTR, (where,))
            raise
        try:
            return check(authoriser_role=authorised_by[1]), first
        except NeedsAuthorisation as again:
            setattr(again, _FIELD_ATTR, (where,))
            raise


def price_checkout(
    lines: Sequence[CheckoutLine],
    *,
    lookup: Lookup,
    by_barcode: ByBarcode,
    at: datetime,
    layouts: Sequence[EmbeddedLayout] = CHINA_SCALE_LAYOUTS,
    promotions: PromotionSet | None = None,
    member: bool = False,
    discount: ManualDiscount | None = None,
    role: str = "cashier",
    limits: CounterLimits,
    authorised_by: AuthorisedBy | None = None,
) -> PricedCheckout:
    """Steps 1 to 4 of this module's doc. Raises `NotFound` (an unknown item or PLU),
    `BusinessRuleError`s of pricing (a bad code, weight or discount) and
    `NeedsAuthorisation`; nothing is written by anyone when one is raised."""
    if not lines or len(lines) > MAX_LINES:
        raise BusinessRuleError(
            f"a sale has 1 to {MAX_LINES} lines, not {len(lines)}",
            message_zh=f"销售单需要 1 至 {MAX_LINES} 行商品",
        )
    resolved = [_resolve(i, ln, lookup, by_barcode, layouts) for i, ln in enumerate(lines)]
    offered = promotions.promotions if promotions is not None else ()
    cart = apply_promotions([p.line for p in resolved], offered, member=member, at=at)
    is_cart_promotion = {p.id: p.scope is None for p in offered}
    priced: list[PricedLine] = []
    for p, after in zip(resolved, cart.lines, strict=True):
        found = tuple(
            Discount(
                "promotion",
                "cart" if is_cart_promotion.get(d.promotion_id) else "line",
                d.name,
                d.fen,
                d.promotion_id,
            )
            for d in after.discounts
        )
        priced.append(PricedLine(p.sku, p.name, p.line, p.code, p.tare_g, p.keyed, found))
    carts = [
        CartDiscount("promotion", a.name, a.fen, a.promotion_id)
        for a in cart.applied
        if is_cart_promotion.get(a.promotion_id)
    ]
    authorised: list[Authorised] = []

    for i, p in enumerate(priced):
        keyed = p.keyed
        if keyed is None:
            continue
        base, sku = p.net_fen, p.sku
        on_line = partial(item_discount, base, keyed, role=role, limits=limits, sku=sku)
        fen, needed = _within(on_line, where=f"lines[{i}].discount", authorised_by=authorised_by)
        if fen:
            name = keyed.reason or MANUAL_LINE_NAME
            priced[i] = _with(p, Discount("manual", "line", name, fen))
        if needed is not None and authorised_by is not None:
            authorised.append(_authorised(needed, "line", fen, base, authorised_by, i, sku))

    if discount is not None:
        nets = [p.net_fen for p in priced]
        base = sum(nets)
        on_cart = partial(cart_discount, base, discount, role=role, limits=limits)
        fen, needed = _within(on_cart, where="discount", authorised_by=authorised_by)
        name = discount.reason or MANUAL_CART_NAME
        for i, share in enumerate(allocate(fen, nets)):
            if share:
                priced[i] = _with(priced[i], Discount("manual", "cart", name, share))
        carts.append(CartDiscount("manual", name, fen, keyed=discount))  # kept even at 0
        if needed is not None and authorised_by is not None:
            authorised.append(_authorised(needed, "cart", fen, base, authorised_by))
    return PricedCheckout(tuple(priced), tuple(carts), tuple(authorised))


def _with(line: PricedLine, discount: Discount) -> PricedLine:
    return PricedLine(
        line.sku,
        line.name,
        line.line,
        line.code,
        line.tare_g,
        line.keyed,
        (*line.discounts, discount),
    )


def _authorised(
    needed: NeedsAuthorisation,
    on: Literal["line", "cart"],
    fen: int,
    base_fen: int,
    authorised_by: AuthorisedBy,
    line: int | None = None,
    sku: str | None = None,
) -> Authorised:
    by, role = authorised_by
    return Authorised(needed.action, on, fen, base_fen, by, role, needed.detail, line, sku)
