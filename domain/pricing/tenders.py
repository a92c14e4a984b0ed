"""Tenders: how a sale is paid, and the change.

- **cash** (`tendered_fen`, what the customer hands over): the only tender that gives
  change; with the store's cash rounding (`rounding`) the cash part is rounded to the
  jiao first.
- **card**, **wechat**, **alipay** (`amount_fen` and the terminal's or the payment's
  `reference`): pay exactly what they say and never more than is still due, since they
  give no change; the same reference twice is refused as a double entry.
- **points** (`amount_fen`: the value of the points redeemed, worked out by the members
  rules beforehand): like the electronic tenders, no change.

A **split payment** is several tenders. The non-cash tenders are applied first, in the
order given, and cash last: cash pays what is left and gets the change. `settle` refuses
non-cash tenders over the total (`NonCashOverpay`) and anything short of it
(`IncompletePayment`); it never answers with a payment that does not add up. Cash over
what is due is change, however much. A sale of ¥0.00 (wholly discounted) is settled
with no tender.

The `Settlement` keeps the tenders in the order they were applied and says:
`change_fen` (cash handed back), `rounding_fen` (the cash rounding, its own line of the
sale) and `paid_fen`, what the store keeps: the total plus the rounding, which is also
what the tenders bring in less the change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Final, Literal

from pydantic import Field

from domain.pricing.authored import Authored, PositiveFen
from domain.pricing.errors import (
    DuplicateTender,
    IncompletePayment,
    NonCashOverpay,
    PaymentRefused,
)
from domain.pricing.rounding import cash_due

MAX_TENDERS: Final = 10
Reference = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z._:/-]+$")]


class Cash(Authored):
    type: Literal["cash"] = "cash"
    tendered_fen: PositiveFen


class _Electronic(Authored):
    amount_fen: PositiveFen
    reference: Reference


class Card(_Electronic):
    type: Literal["card"] = "card"


class WeChat(_Electronic):
    type: Literal["wechat"] = "wechat"


class Alipay(_Electronic):
    type: Literal["alipay"] = "alipay"


class Points(Authored):
    type: Literal["points"] = "points"
    amount_fen: PositiveFen
    reference: Reference | None = None  # the member or the redemption, if the till has one


Tender = Annotated[Cash | Card | WeChat | Alipay | Points, Field(discriminator="type")]
NonCash = Card | WeChat | Alipay | Points


@dataclass(frozen=True)
class Settlement:
    tenders: tuple[Tender, ...]  # non-cash in the order given, then cash
    change_fen: int
    rounding_fen: int
    paid_fen: int

    @property
    def tendered_fen(self) -> int:
        return sum(_amount(t) for t in self.tenders)

    def net_by_type(self) -> dict[str, int]:
        """What each kind of tender brought in, cash less its change (for the drawer)."""
        net: dict[str, int] = {}
        for t in self.tenders:
            net[t.type] = net.get(t.type, 0) + _amount(t)
        if self.change_fen:
            net["cash"] -= self.change_fen
        return net


def settle(total_fen: int, tenders: Sequence[Tender], *, cash_rounding: bool) -> Settlement:
    """Settle a sale of `total_fen` with `tenders`, by the rules in this module's doc."""
    if total_fen < 0:
        raise ValueError(f"a sale's total cannot be negative ({total_fen})")
    if len(tenders) > MAX_TENDERS:
        raise PaymentRefused(
            f"at most {MAX_TENDERS} tenders pay one sale, not {len(tenders)}",
            message_zh=f"一笔销售最多 {MAX_TENDERS} 种支付，当前 {len(tenders)} 种",
        )
    non_cash = [t for t in tenders if not isinstance(t, Cash)]
    cash = [t for t in tenders if isinstance(t, Cash)]
    seen: set[tuple[str, str]] = set()
    for t in non_cash:
        if t.reference is not None:
            if (t.type, t.reference) in seen:
                raise DuplicateTender(t.type, t.reference)
            seen.add((t.type, t.reference))
    left = total_fen - sum(t.amount_fen for t in non_cash)
    if left < 0:
        raise NonCashOverpay(-left)
    if not cash:
        if left:
            raise IncompletePayment(left)
        return Settlement(tuple(non_cash), 0, 0, total_fen)
    due = cash_due(left, enabled=cash_rounding)
    handed = sum(t.tendered_fen for t in cash)
    if handed < due.due_fen:
        raise IncompletePayment(due.due_fen - handed)
    return Settlement(
        (*non_cash, *cash),
        change_fen=handed - due.due_fen,
        rounding_fen=due.rounding_fen,
        paid_fen=total_fen + due.rounding_fen,
    )


def _amount(tender: Tender) -> int:
    return tender.tendered_fen if isinstance(tender, Cash) else tender.amount_fen
