"""Promotions authored at HQ, and the prices they give a cart at the counter.

**Kinds** (`Promotion`, told apart by `type`; strict, bounded, ready to travel as op
bodies):

- `percent_off`: N % off (8.8折 is `percent=12`) the lines of some SKUs, or of the whole
  cart when `skus` is left out; optionally from a minimum spend (满 X 打折).
- `amount_off`: a fixed amount off the lines of some SKUs together, or off the cart
  (满 X 减 Y), shared across the lines by their amounts.
- `buy_n_get_m`: buy N, get M free (买N送M) among some SKUs: per SKU (`free="same_sku"`,
  every N + M units of one SKU give its M free) or across them (`free="cheapest"`,
  every N + M units of the set give M free, the cheapest units of the cart's whole set).
  Weighed lines take no part.
- `member_price`: a member's price per SKU (会员价; per kg for weighed goods), for
  members only.

Any promotion may be for members only (`members_only`) and run in a `TimeWindow`.

**Which promotions a cart gets** (deterministic whatever the order they are given in):

1. Only those running at `at` (the store's local time), and members-only ones only for
   a member.
2. *Line promotions* (those that name SKUs) first. Each line gets at most one. They are
   taken greedily, the largest saving first: of every way a running promotion could
   apply to the lines still free — one line for a member price or a percent off without
   minimum spend; one SKU's lines for a same-SKU buy-N-get-M; all the free lines of the
   set for the others — the one saving the most is taken, its lines are no longer free
   (the paid units of a buy-N-get-M too: they earned the free ones), and the rest are
   weighed again on the lines still free, minimum spends included. Equal savings go to
   the smaller promotion id, then to the earlier line.
3. Then *one cart promotion* (those without SKUs), the one saving the most (the smaller
   id on a tie), on what the lines cost after their line promotions; its minimum spend
   counts that amount, too. One with `exclude_promoted` neither counts nor discounts the
   lines a line promotion took (特价商品不参与). Its saving is shared across the lines by
   their amounts, so each line shows its part.
4. Nothing goes below zero: a percent is at most 99, an amount off at most what the lines
   cost, a member price only ever lowers a price.

Percentages round half-up per line (the receipt shows each line's discount); an amount
is shared in whole fen by `money.allocate`, so the parts add up to it exactly.

Manual discounts by the cashier (`discounts`) come after promotions, on what each line
costs then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import Field, StrictBool, StrictInt, model_validator

from domain.catalog.kinds import Sku
from domain.pricing.authored import Authored, Code, Fen, Label, Listed, PositiveFen
from domain.pricing.money import allocate, percent_of
from domain.pricing.weighed import weighed_amount
from domain.pricing.windows import TimeWindow
from sync_protocol.errors import ConfigurationError

MAX_PROMOTIONS: Final = 1_000


# --- the cart, before and after ---------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """A line as rung up at catalog prices. `qty` is 1 and `unit_price_fen` per kg for a
    weighed line (`weight_g` set); use `counted` and `weighed` to make one."""

    sku: str
    qty: int
    unit_price_fen: int
    amount_fen: int
    weight_g: int | None = None

    def __post_init__(self) -> None:
        if self.qty <= 0 or self.unit_price_fen < 0:
            raise ValueError(f"line {self.sku}: qty must be positive, price not negative")
        expected = (
            self.qty * self.unit_price_fen
            if self.weight_g is None
            else weighed_amount(self.unit_price_fen, self.weight_g)
        )
        if self.weight_g is not None and self.qty != 1:
            raise ValueError(f"weighed line {self.sku} must have qty 1")
        if self.amount_fen != expected:
            raise ValueError(f"line {self.sku}: amount {self.amount_fen} is not {expected}")

    @classmethod
    def counted(cls, sku: str, qty: int, unit_price_fen: int) -> Line:
        return cls(sku, qty, unit_price_fen, qty * unit_price_fen)

    @classmethod
    def weighed(cls, sku: str, unit_price_fen_per_kg: int, weight_g: int) -> Line:
        amount = weighed_amount(unit_price_fen_per_kg, weight_g)
        return cls(sku, 1, unit_price_fen_per_kg, amount, weight_g)


@dataclass(frozen=True)
class AppliedDiscount:
    """A promotion's discount: on one line, or its total over the cart."""

    promotion_id: str
    name: str
    fen: int


@dataclass(frozen=True)
class PricedLine:
    line: Line
    discounts: tuple[AppliedDiscount, ...] = ()  # its line promotion, then its cart share

    @property
    def discount_fen(self) -> int:
        return sum(d.fen for d in self.discounts)

    @property
    def net_fen(self) -> int:
        return self.line.amount_fen - self.discount_fen


@dataclass(frozen=True)
class PricedCart:
    """The cart after promotions. `applied` totals each promotion over the cart, in the
    order they were taken (for the receipt)."""

    lines: tuple[PricedLine, ...]
    applied: tuple[AppliedDiscount, ...] = field(default=())

    @property
    def subtotal_fen(self) -> int:
        return sum(p.line.amount_fen for p in self.lines)

    @property
    def discount_fen(self) -> int:
        return sum(p.discount_fen for p in self.lines)

    @property
    def total_fen(self) -> int:
        return sum(p.net_fen for p in self.lines)


# --- what HQ authors --------------------------------------------------------------------


class _Promotion(Authored):
    id: Code
    name: Label
    window: TimeWindow = TimeWindow()
    members_only: StrictBool = False

    def running(self, *, member: bool, at: datetime) -> bool:
        return (member or not self.members_only) and self.window.contains(at)

    @property
    def scope(self) -> frozenset[str] | None:
        """The SKUs a line promotion is about; None for a cart promotion."""
        return None


class _LineOrCart(_Promotion):
    skus: Listed[Sku] | None = Field(default=None, min_length=1)
    min_spend_fen: Fen = 0
    exclude_promoted: StrictBool = False

    @model_validator(mode="after")
    def _exclusion_is_for_carts(self) -> _LineOrCart:
        if self.exclude_promoted and self.skus is not None:
            raise ValueError("exclude_promoted is for cart promotions (without skus)")
        return self

    @property
    def scope(self) -> frozenset[str] | None:
        return None if self.skus is None else frozenset(self.skus)


class PercentOff(_LineOrCart):
    type: Literal["percent_off"] = "percent_off"
    percent: StrictInt = Field(ge=1, le=99, description="12 is 8.8折")


class AmountOff(_LineOrCart):
    type: Literal["amount_off"] = "amount_off"
    off_fen: PositiveFen


class BuyNGetM(_Promotion):
    type: Literal["buy_n_get_m"] = "buy_n_get_m"
    skus: Listed[Sku] = Field(min_length=1)
    buy: StrictInt = Field(ge=1, le=99)
    get: StrictInt = Field(ge=1, le=99)
    free: Literal["same_sku", "cheapest"] = "same_sku"

    @property
    def scope(self) -> frozenset[str] | None:
        return frozenset(self.skus)


class MemberPrice(_Promotion):
    type: Literal["member_price"] = "member_price"
    members_only: Literal[True] = True
    prices: dict[Sku, Fen] = Field(min_length=1, max_length=5_000)

    @property
    def scope(self) -> frozenset[str] | None:
        return frozenset(self.prices)


Promotion = Annotated[PercentOff | AmountOff | BuyNGetM | MemberPrice, Field(discriminator="type")]


class PromotionSet(Authored):
    """The promotions HQ has published for a store, ids unique."""

    promotions: Listed[Promotion] = Field(default=(), max_length=MAX_PROMOTIONS)

    @model_validator(mode="after")
    def _unique_ids(self) -> PromotionSet:
        if repeated := _repeated_ids(self.promotions):
            raise ValueError(f"promotion ids must be unique: {repeated} repeat")
        return self


# --- pricing the cart -------------------------------------------------------------------


@dataclass(frozen=True)
class _Award:
    """One way a line promotion applies: the lines it takes and each one's discount."""

    promotion: Promotion
    lines: tuple[int, ...]
    discounts: tuple[int, ...]
    saving: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "saving", sum(self.discounts))

    def rank(self) -> tuple[int, str, int]:
        return (-self.saving, self.promotion.id, self.lines[0])


def apply_promotions(
    lines: Sequence[Line], promotions: Sequence[Promotion], *, member: bool, at: datetime
) -> PricedCart:
    """Price `lines` with the running `promotions` by the rule in this module's doc."""
    if repeated := _repeated_ids(promotions):
        raise ConfigurationError(f"promotion ids must be unique: {repeated} repeat")
    running = [p for p in promotions if p.running(member=member, at=at)]
    scopes = {p.id: p.scope for p in running}
    line_promos = [p for p in running if scopes[p.id] is not None]
    cart_promos = [p for p in running if scopes[p.id] is None]

    per_line: list[list[AppliedDiscount]] = [[] for _ in lines]
    taken: set[int] = set()
    applied: dict[str, AppliedDiscount] = {}
    cache = {p.id: _awards(p, scopes[p.id], lines, taken) for p in line_promos}
    while True:
        candidates = [a for awards in cache.values() for a in awards if a.saving > 0]
        if not candidates:
            break
        best = min(candidates, key=_Award.rank)
        taken.update(best.lines)
        promo = best.promotion
        for i, fen in zip(best.lines, best.discounts, strict=True):
            if fen:
                per_line[i].append(AppliedDiscount(promo.id, promo.name, fen))
        _add(applied, promo, best.saving)
        skus = {lines[i].sku for i in best.lines}
        for p in line_promos:  # only promotions about the lines just taken can change
            scope = scopes[p.id]
            if scope is not None and not skus.isdisjoint(scope):
                cache[p.id] = _awards(p, scope, lines, taken)

    nets = [line.amount_fen - sum(d.fen for d in per_line[i]) for i, line in enumerate(lines)]
    best_cart: tuple[int, str, Promotion, list[int]] | None = None
    for p in cart_promos:
        assert isinstance(p, PercentOff | AmountOff)
        base = [i for i in range(len(lines)) if not (p.exclude_promoted and i in taken)]
        spend = sum(nets[i] for i in base)
        if spend == 0 or spend < p.min_spend_fen:
            continue
        saving = (
            percent_of(spend, p.percent) if isinstance(p, PercentOff) else min(p.off_fen, spend)
        )
        if saving and (best_cart is None or (-saving, p.id) < (-best_cart[0], best_cart[1])):
            best_cart = (saving, p.id, p, base)
    if best_cart is not None:
        saving, _, promo, base = best_cart
        for i, fen in zip(base, allocate(saving, [nets[i] for i in base]), strict=True):
            if fen:
                per_line[i].append(AppliedDiscount(promo.id, promo.name, fen))
        _add(applied, promo, saving)

    priced = tuple(PricedLine(line, tuple(per_line[i])) for i, line in enumerate(lines))
    return PricedCart(priced, tuple(applied.values()))


def _awards(
    promo: Promotion, scope: frozenset[str] | None, lines: Sequence[Line], taken: set[int]
) -> list[_Award]:
    """Every way `promo` (about the SKUs of `scope`) applies to the lines not yet `taken`."""
    scope = scope or frozenset()
    free = [i for i, line in enumerate(lines) if i not in taken and line.sku in scope]
    if not free:
        return []
    if isinstance(promo, MemberPrice):
        return [
            _Award(promo, (i,), (_member_discount(lines[i], promo.prices[lines[i].sku]),))
            for i in free
        ]
    if isinstance(promo, BuyNGetM):
        counted = [i for i in free if lines[i].weight_g is None]
        if promo.free == "cheapest":
            return _buy_n_get_m(promo, lines, counted)
        by_sku: dict[str, list[int]] = {}
        for i in counted:
            by_sku.setdefault(lines[i].sku, []).append(i)
        return [a for group in by_sku.values() for a in _buy_n_get_m(promo, lines, group)]
    assert isinstance(promo, PercentOff | AmountOff)
    spend = sum(lines[i].amount_fen for i in free)
    if spend == 0 or spend < promo.min_spend_fen:
        return []
    if isinstance(promo, PercentOff):
        each = [(i,) for i in free] if promo.min_spend_fen == 0 else [tuple(free)]
        return [
            _Award(
                promo, group, tuple(percent_of(lines[i].amount_fen, promo.percent) for i in group)
            )
            for group in each
        ]
    shares = allocate(min(promo.off_fen, spend), [lines[i].amount_fen for i in free])
    return [_Award(promo, tuple(free), tuple(shares))]


def _buy_n_get_m(promo: BuyNGetM, lines: Sequence[Line], group: list[int]) -> list[_Award]:
    units = sum(lines[i].qty for i in group)
    free_units = units // (promo.buy + promo.get) * promo.get
    if not free_units:
        return []
    discounts = dict.fromkeys(group, 0)
    for i in sorted(group, key=lambda i: (lines[i].unit_price_fen, i)):
        n = min(free_units, lines[i].qty)
        discounts[i] = n * lines[i].unit_price_fen
        free_units -= n
        if not free_units:
            break
    return [_Award(promo, tuple(group), tuple(discounts[i] for i in group))]


def _member_discount(line: Line, member_price_fen: int) -> int:
    if line.weight_g is None:
        return max(0, (line.unit_price_fen - member_price_fen) * line.qty)
    return max(0, line.amount_fen - weighed_amount(member_price_fen, line.weight_g))


def _add(applied: dict[str, AppliedDiscount], promo: Promotion, fen: int) -> None:
    before = applied.get(promo.id)
    total = fen + (before.fen if before else 0)
    applied[promo.id] = AppliedDiscount(promo.id, promo.name, total)


def _repeated_ids(promotions: Sequence[Promotion]) -> str:
    ids = [p.id for p in promotions]
    return ", ".join(sorted({i for i in ids if ids.count(i) > 1}))
