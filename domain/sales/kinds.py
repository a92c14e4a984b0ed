"""Sales op kinds. A sale is an owned aggregate: the node that rang it up is its only
writer, and its id is unique within that node (the origin).

`sale.completed` v2 adds what the store counter records (`edge.services.checkout`), all
optional, so a v1 body is a v2 body and a v1 reader keeps reading `lines`, `total_fen`
and `payment` as before:

- per line: the scanned `code`, the `weight_g` of goods sold by weight (`qty` is then 1
  and `unit_price_fen` per kg), its `discounts` (each promotion and the cashier's, with
  their shares of the cart-wide ones), `discount_fen`, `net_fen` (`amount_fen` less the
  discounts), the line promotion's `promotion_id` and the `manual_discount` keyed;
- per sale: `subtotal_fen` (the lines at catalog prices), `discount_fen`, the
  `cart_discounts`, the `tenders` (type, amount, reference; a cash tender's amount is
  what the customer handed over), `change_fen`, `rounding_fen` (the cash rounding, its
  own line: negative when the customer pays less), `paid_fen` (what the store keeps:
  `total_fen` + `rounding_fen`), `member` and the discounts a supervisor `authorised`.

`total_fen` is the goods' total after discounts and before the cash rounding; `payment`
stays the first tender's type (in the order the tenders were applied: non-cash first).
Values a newer release may widen (a tender type, a discount's source, how far cash is
rounded, how many tenders) are not narrowed here: an older replica must store, fold and
relay its ops, not refuse them.
"""

from __future__ import annotations

from typing import Final

from pydantic import Field

from sync_protocol.registry import Body, Kind

MAX_LINE_QTY: Final = 100_000
MAX_LINES: Final = 500


class LineDiscount(Body):
    """One discount on a line. `source`: "promotion" or "manual" (the cashier's);
    `scope`: "line" (given on this line) or "cart" (this line's share of a discount on
    the whole sale)."""

    source: str = Field(min_length=1, max_length=32)
    scope: str = Field(min_length=1, max_length=32)
    promotion_id: str | None = Field(default=None, min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=64)
    fen: int = Field(gt=0)


class KeyedDiscount(Body):
    """A discount as the cashier keyed it: a percent off or an amount off."""

    percent: int | None = Field(default=None, ge=1, le=100)
    amount_fen: int | None = Field(default=None, gt=0)
    reason: str | None = Field(default=None, max_length=64)


class SaleLine(Body):
    sku: str = Field(min_length=1, max_length=64)
    name: str
    qty: int = Field(gt=0)
    unit_price_fen: int = Field(ge=0)
    amount_fen: int = Field(ge=0)
    # v2, all optional (the store counter's)
    code: str | None = Field(default=None, min_length=1, max_length=64)
    weight_g: int | None = Field(default=None, gt=0)
    tare_g: int | None = Field(default=None, ge=0)
    discount_fen: int | None = Field(default=None, ge=0)
    net_fen: int | None = Field(default=None, ge=0)
    promotion_id: str | None = Field(default=None, min_length=1, max_length=64)
    discounts: list[LineDiscount] | None = None
    manual_discount: KeyedDiscount | None = None


class CartDiscount(Body):
    """A discount on the whole sale: the cart promotion, or the cashier's (as keyed)."""

    source: str = Field(min_length=1, max_length=32)
    promotion_id: str | None = Field(default=None, min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=64)
    fen: int = Field(ge=0)
    percent: int | None = Field(default=None, ge=1, le=100)
    amount_fen: int | None = Field(default=None, gt=0)
    reason: str | None = Field(default=None, max_length=64)


class SaleTender(Body):
    """One payment: cash (`amount_fen` handed over), card, wechat, alipay, points."""

    type: str = Field(min_length=1, max_length=32)
    amount_fen: int = Field(gt=0)
    reference: str | None = Field(default=None, min_length=1, max_length=64)


class AuthorisedDiscount(Body):
    """A discount over the cashier's limit that `by` (of `role`) authorised: on line
    `line` (its index in `lines`) or on the whole sale (`on` = "cart")."""

    action: str = Field(min_length=1, max_length=32)
    on: str = Field(min_length=1, max_length=32)
    line: int | None = Field(default=None, ge=0)
    sku: str | None = Field(default=None, max_length=64)
    fen: int = Field(gt=0)
    base_fen: int = Field(ge=0)
    by: str = Field(min_length=1, max_length=64)
    role: str = Field(min_length=1, max_length=32)
    detail: str = Field(default="", max_length=200)


class SaleCompleted(Body):
    """A completed sale at a store. `sale_id` is unique per origin: made by the node
    (UUIDv7), or the till's own id for the sale, which is then its retry key."""

    sale_id: str = Field(min_length=1, max_length=64)
    location: str = Field(min_length=1, max_length=64)
    lines: list[SaleLine] = Field(min_length=1)
    total_fen: int = Field(ge=0)
    payment: str = "cash"
    # v2, all optional (the store counter's)
    subtotal_fen: int | None = Field(default=None, ge=0)
    discount_fen: int | None = Field(default=None, ge=0)
    cart_discounts: list[CartDiscount] | None = None
    tenders: list[SaleTender] | None = None
    change_fen: int | None = Field(default=None, ge=0)
    rounding_fen: int | None = None  # −4 … +5 fen today (to the jiao)
    paid_fen: int | None = Field(default=None, ge=0)
    member: bool | None = None
    authorised: list[AuthorisedDiscount] | None = None


COMPLETED = Kind("sale.completed", 2, SaleCompleted)
KINDS = (COMPLETED,)
