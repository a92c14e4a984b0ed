"""A cashier's own discounts and price changes, within the limit of their role.

A cashier may take something off a line (临期, a damaged box) or off the whole sale, or
change a line's price (the shelf tag says less than the system), up to a limit the store
sets per role (`CounterLimits`): a percent of the amount, a sum in fen, or both (then
both hold). Above it the counter needs a supervisor: the rule raises
`NeedsAuthorisation(action="discount_over_limit" | "price_override")`, the counter asks
for a supervisor's PIN (`edge.services.staff.authorise`) and calls again with
`authoriser_role` set to that supervisor's role, whose own limit then applies. Over that
one too, it raises again, naming the supervisor's role: the counter asks a manager.

- A role without limits may give nothing on its own; `Limit()` is nothing.
- A discount is measured against what the line (or the cart) costs when it is given:
  after promotions, so a cashier's 10 % is 10 % of what the customer would pay. A
  percent keyed is measured as keyed (10 % is within a 10 % limit though its half-up fen
  may be a little more); an amount keyed, by its share of the amount.
- A price change is measured by how far it moves the line's amount, up or down, against
  the amount at the old price.
- A discount of more than the amount is refused outright (`DiscountRefused`): no one
  may take a line below zero.
- Each discount or change is checked on its own; the sale keeps the record of each.

`DEFAULT_LIMITS` is the store's limits until it sets its own.
"""

from __future__ import annotations

from typing import Final

from pydantic import Field, StrictInt, model_validator

from domain.catalog.kinds import MAX_PRICE_FEN
from domain.pricing.authored import Authored, Label, PositiveFen
from domain.pricing.errors import DiscountRefused, NeedsAuthorisation
from domain.pricing.money import percent_of, yuan
from domain.staff.kinds import AuthorisedAction, Role


class Limit(Authored):
    """The most one may give without asking: `max_percent` of the amount and
    `max_fen`; None is no limit of that kind."""

    max_percent: StrictInt | None = Field(default=0, ge=0, le=1_000)
    max_fen: StrictInt | None = Field(default=0, ge=0, le=MAX_PRICE_FEN)

    def allows(self, change_fen: int, base_fen: int, *, percent: int | None = None) -> bool:
        """Whether a change of `change_fen` on `base_fen` is within. A `percent` keyed
        by the cashier is measured as keyed, not by its half-up fen (10 % of ¥6.45 is
        65 fen, and still 10 %)."""
        if self.max_percent is None:
            within_percent = True
        elif percent is not None:
            within_percent = percent <= self.max_percent
        else:
            within_percent = change_fen * 100 <= base_fen * self.max_percent
        within_fen = self.max_fen is None or change_fen <= self.max_fen
        return within_percent and within_fen

    def describe(self) -> str:
        parts = []
        if self.max_percent is not None:
            parts.append(f"{self.max_percent}%")
        if self.max_fen is not None:
            parts.append(yuan(self.max_fen))
        return " / ".join(parts) or "∞"


class RoleLimits(Authored):
    discount: Limit = Limit()
    price_override: Limit = Limit()


class CounterLimits(Authored):
    """A store's limits per role; a role left out may give nothing on its own."""

    roles: dict[Role, RoleLimits] = Field(default_factory=dict)

    def of(self, role: str) -> RoleLimits:
        return next((limits for r, limits in self.roles.items() if r == role), RoleLimits())


DEFAULT_LIMITS: Final = CounterLimits(
    roles={
        "cashier": RoleLimits(discount=Limit(max_percent=10, max_fen=2_000)),
        "supervisor": RoleLimits(
            discount=Limit(max_percent=30, max_fen=20_000),
            price_override=Limit(max_percent=30, max_fen=20_000),
        ),
        "manager": RoleLimits(
            discount=Limit(max_percent=100, max_fen=None),
            price_override=Limit(max_percent=None, max_fen=None),
        ),
    }
)


class ManualDiscount(Authored):
    """What the cashier keyed: a percent off (10 is 9折) or an amount off, not both."""

    percent: StrictInt | None = Field(default=None, ge=1, le=100)
    amount_fen: PositiveFen | None = None
    reason: Label | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ManualDiscount:
        if (self.percent is None) == (self.amount_fen is None):
            raise ValueError("give a percent or an amount off, one of them")
        return self

    def fen_of(self, base_fen: int) -> int:
        """The discount on `base_fen`, half-up for a percent; refused over the amount."""
        fen = self.amount_fen if self.percent is None else percent_of(base_fen, self.percent)
        assert fen is not None
        if fen > base_fen:
            raise DiscountRefused(
                f"a discount of {yuan(fen)} is more than the {yuan(base_fen)} it is taken off",
                message_zh=f"折扣 {yuan(fen)} 超过金额 {yuan(base_fen)}，不能优惠到负数",
            )
        return fen


def item_discount(
    line_fen: int,
    discount: ManualDiscount,
    *,
    role: str,
    limits: CounterLimits,
    authoriser_role: str | None = None,
    sku: str = "",
) -> int:
    """The fen off a line now costing `line_fen`, if `role` (or the authoriser) may."""
    fen = discount.fen_of(line_fen)
    detail = f"item {sku}: -{yuan(fen)} of {yuan(line_fen)}"
    _check(
        "discount_over_limit",
        fen,
        line_fen,
        role,
        limits,
        authoriser_role,
        detail,
        percent=discount.percent,
    )
    return fen


def cart_discount(
    cart_fen: int,
    discount: ManualDiscount,
    *,
    role: str,
    limits: CounterLimits,
    authoriser_role: str | None = None,
) -> int:
    """The fen off a cart now costing `cart_fen`, if `role` (or the authoriser) may."""
    fen = discount.fen_of(cart_fen)
    detail = f"cart: -{yuan(fen)} of {yuan(cart_fen)}"
    _check(
        "discount_over_limit",
        fen,
        cart_fen,
        role,
        limits,
        authoriser_role,
        detail,
        percent=discount.percent,
    )
    return fen


def price_override(
    line_fen: int,
    new_line_fen: int,
    *,
    role: str,
    limits: CounterLimits,
    authoriser_role: str | None = None,
    sku: str = "",
) -> int:
    """Check a line's change from `line_fen` to `new_line_fen` (its qty × the new unit
    price, or the weighed amount at it); returns the change in fen (negative: cheaper)."""
    if new_line_fen < 0:
        raise DiscountRefused(
            f"a price of {yuan(new_line_fen)} is below zero",
            message_zh=f"价格 {yuan(new_line_fen)} 不能为负数",
        )
    change = new_line_fen - line_fen
    detail = f"item {sku}: {yuan(line_fen)} -> {yuan(new_line_fen)}"
    _check("price_override", abs(change), line_fen, role, limits, authoriser_role, detail)
    return change


def _check(
    action: AuthorisedAction,
    change_fen: int,
    base_fen: int,
    role: str,
    limits: CounterLimits,
    authoriser_role: str | None,
    detail: str,
    *,
    percent: int | None = None,
) -> None:
    def limit_of(who: str) -> Limit:
        own = limits.of(who)
        return own.discount if action == "discount_over_limit" else own.price_override

    if change_fen == 0 or limit_of(role).allows(change_fen, base_fen, percent=percent):
        return
    asked = role if authoriser_role is None else authoriser_role
    limit = limit_of(asked)
    if authoriser_role is not None and limit.allows(change_fen, base_fen, percent=percent):
        return
    raise NeedsAuthorisation(
        action,
        role=asked,
        change_fen=change_fen,
        base_fen=base_fen,
        limit=limit.describe(),
        detail=detail,
    )
