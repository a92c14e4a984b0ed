"""The store counter's checkout at this node: a cart priced from the node's catalog,
with promotions, the cashier's discounts and the tenders that pay it, recorded as one
`sale.completed` op; and the receipt the lane printer prints for it.

`check_out` is `record_sale` (`edge.services.sales`) grown up: the same transaction (the
sale and the stock it takes, one `stock.moved` of −qty per line, in one group commit; a
weighed line and a scale label are one pack, qty 1), the same sale id and retry
semantics, and a body that old readers still read (`lines`, `total_fen`, `payment`: the
first tender's type) with the counter's fields added (`domain.sales.kinds`). How a cart
is priced is `domain.sales.checkout`.

**Authorisation.** A discount over the cashier's limit raises `NeedsAuthorisation` and
nothing is written. The counter asks a supervisor for their PIN, checks it
(`edge.services.staff.authorise`) and calls again with `authorised_by=(staff_id,
role)`: the discount passes within the supervisor's limit, the sale body records who
authorised what (`authorised`), and the trail gets a `staff.action_authorised` op beside
the sale (actor the cashier, `by` the supervisor) when the cashier is a staff member.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from devices.printer.document import AmountLine, QrCode, Receipt, ReceiptLine
from domain.catalog.queries import sku_for_barcode
from domain.errors import Conflict
from domain.pricing.discounts import DEFAULT_LIMITS, CounterLimits, ManualDiscount
from domain.pricing.price_embedded import EmbeddedLayout
from domain.pricing.promotions import PromotionSet
from domain.pricing.tenders import Tender, settle
from domain.sales.checkout import CHINA_SCALE_LAYOUTS, AuthorisedBy, CheckoutLine, price_checkout
from domain.sales.counter_body import sale_body
from domain.sales.kinds import COMPLETED, SaleCompleted
from domain.sales.queries import recorded_sale
from domain.sales.queries import sale_body as recorded_body
from domain.sales.rules import same_checkout
from domain.staff.kinds import ACTION_AUTHORISED, is_staff_id
from domain.stock.kinds import MOVED
from edge.services.catalog import item_fields
from sync_protocol.ids import new_id
from sync_protocol.store import ReplicaStore, WriteTxn

__all__ = [
    "CheckedOut",
    "CheckoutLine",
    "CounterSettings",
    "check_out",
    "receipt_of",
]


@dataclass(frozen=True)
class CounterSettings:
    """What a store sets for its counter: its scales' label layouts, the cashiers'
    discount limits, HQ's promotions and whether cash rounds to the jiao."""

    layouts: tuple[EmbeddedLayout, ...] = CHINA_SCALE_LAYOUTS
    limits: CounterLimits = DEFAULT_LIMITS
    promotions: PromotionSet | None = None
    cash_rounding: bool = False


# --- the answer ------------------------------------------------------------------------


@dataclass(frozen=True)
class Discount:
    source: str  # "promotion" or "manual" (the cashier's)
    scope: str  # "line", or "cart": a line's share of a discount on the whole sale
    name: str
    fen: int
    promotion_id: str | None = None


@dataclass(frozen=True)
class CheckedOutLine:
    """A line as sold. Weighed goods: `qty` 1, `unit_price_fen` per kg, `weight_g` net."""

    sku: str
    name: str
    qty: int
    unit_price_fen: int
    amount_fen: int  # at catalog price
    discount_fen: int
    net_fen: int  # what the customer pays for it
    discounts: tuple[Discount, ...] = ()
    code: str | None = None
    weight_g: int | None = None
    promotion_id: str | None = None


@dataclass(frozen=True)
class CartDiscountOut:
    source: str
    name: str
    fen: int
    promotion_id: str | None = None


@dataclass(frozen=True)
class PaidTender:
    type: str
    amount_fen: int  # cash: what was handed over
    reference: str | None = None


@dataclass(frozen=True)
class AuthorisedDiscount:
    on: str  # "line" or "cart"
    fen: int
    by: str
    role: str
    detail: str
    line: int | None = None
    sku: str | None = None


@dataclass(frozen=True)
class CheckedOut:
    """The answer to a checkout: the same in full for the first call and any retry of
    it (`replayed`), so a till that lost the answer prints the receipt. `total_fen` is
    the goods after discounts; `paid_fen` adds the cash rounding (`rounding_fen`)."""

    sale_id: str
    lines: tuple[CheckedOutLine, ...]
    subtotal_fen: int
    discount_fen: int
    total_fen: int
    cart_discounts: tuple[CartDiscountOut, ...]
    tenders: tuple[PaidTender, ...]
    change_fen: int
    rounding_fen: int
    paid_fen: int
    payment: str
    member: bool
    authorised: tuple[AuthorisedDiscount, ...]
    op_seq: int
    replayed: bool = False

    def savings(self) -> list[tuple[str, int]]:
        """Each discount over the sale, named as the receipt shows it, largest first:
        a promotion by its name, the cashier's by their reason or 手工折扣/整单折扣."""
        totals: dict[tuple[str, str], int] = {}
        for line in self.lines:
            for d in line.discounts:
                key = (d.promotion_id or f"manual:{d.scope}:{d.name}", d.name)
                totals[key] = totals.get(key, 0) + d.fen
        ordered = sorted(totals.items(), key=lambda kv: -kv[1])
        return [(name, fen) for (_, name), fen in ordered]


def checked_out_of(body: dict[str, Any], op_seq: int, *, replayed: bool) -> CheckedOut:
    """The answer, read from a `sale.completed` body (a counter sale's, or an older one
    recorded by `record_sale`: no discounts, no tenders)."""
    sale = SaleCompleted.model_validate(body)
    lines = tuple(
        CheckedOutLine(
            sku=ln.sku,
            name=ln.name,
            qty=ln.qty,
            unit_price_fen=ln.unit_price_fen,
            amount_fen=ln.amount_fen,
            discount_fen=ln.discount_fen or 0,
            net_fen=ln.amount_fen - (ln.discount_fen or 0) if ln.net_fen is None else ln.net_fen,
            discounts=tuple(
                Discount(d.source, d.scope, d.name or "", d.fen, d.promotion_id)
                for d in ln.discounts or ()
            ),
            code=ln.code,
            weight_g=ln.weight_g,
            promotion_id=ln.promotion_id,
        )
        for ln in sale.lines
    )
    subtotal = sale.subtotal_fen
    if subtotal is None:  # recorded without discounts: the lines are the total
        subtotal = sum(ln.amount_fen for ln in lines)
    rounding = sale.rounding_fen or 0
    return CheckedOut(
        sale_id=sale.sale_id,
        lines=lines,
        subtotal_fen=subtotal,
        discount_fen=sale.discount_fen or 0,
        total_fen=sale.total_fen,
        cart_discounts=tuple(
            CartDiscountOut(c.source, c.name or "", c.fen, c.promotion_id)
            for c in sale.cart_discounts or ()
        ),
        tenders=tuple(PaidTender(t.type, t.amount_fen, t.reference) for t in sale.tenders or ()),
        change_fen=sale.change_fen or 0,
        rounding_fen=rounding,
        paid_fen=sale.total_fen + rounding if sale.paid_fen is None else sale.paid_fen,
        payment=sale.payment,
        member=bool(sale.member),
        authorised=tuple(
            AuthorisedDiscount(a.on, a.fen, a.by, a.role, a.detail, a.line, a.sku)
            for a in sale.authorised or ()
        ),
        op_seq=op_seq,
        replayed=replayed,
    )


# --- checking out ----------------------------------------------------------------------


def check_out(
    ledger: ReplicaStore,
    location: str,
    lines: Sequence[CheckoutLine],
    tenders: Sequence[Tender],
    *,
    cashier: str,
    sale_id: str | None = None,
    promotions: PromotionSet | None = None,
    member: bool = False,
    cash_rounding: bool = False,
    now: datetime,
    discount: ManualDiscount | None = None,
    cashier_role: str = "cashier",
    authorised_by: AuthorisedBy | None = None,
    limits: CounterLimits = DEFAULT_LIMITS,
    layouts: Sequence[EmbeddedLayout] = CHINA_SCALE_LAYOUTS,
) -> CheckedOut:
    """Price `lines` (at the store's local time `now`, for promotions), take the
    cashier's line `discount`s and the `discount` on the whole sale within
    `cashier_role`'s `limits` (or `authorised_by`'s), settle `tenders` and record the
    sale, as `cashier` (the op's actor), with the stock it takes.

    `sale_id` is the till's own id for the sale (else a new UUIDv7): a request
    repeating one this node recorded is a retry, answered with the recorded sale
    (`replayed`) and writing nothing, or `Conflict` when it asks for another sale.
    Raises what pricing and settling raise (`NotFound`, `NeedsAuthorisation`,
    `PaymentRefused`…); nothing is written then."""
    sid = sale_id or new_id()

    def sell(txn: WriteTxn) -> CheckedOut:
        conn = txn.conn
        if sale_id is not None:  # a UUIDv7 made just now was never used
            earlier = recorded_sale(conn, ledger.origin, sid)
            if earlier is not None:
                body = recorded_body(conn, earlier)
                if not same_checkout(body, lines, tenders, discount=discount, member=member):
                    raise Conflict(
                        f"sale {sid} was already recorded with other lines or tenders; "
                        "a new sale needs a new sale_id",
                        message_zh=f"销售单 {sid} 已按不同的商品或付款记录；新销售请使用新的单号",
                    )
                return checked_out_of(body, earlier.seq, replayed=True)
        priced = price_checkout(
            lines,
            lookup=lambda sku: item_fields(conn, sku),
            by_barcode=lambda code: sku_for_barcode(conn, code),
            at=now,
            layouts=layouts,
            promotions=promotions,
            member=member,
            discount=discount,
            role=cashier_role,
            limits=limits,
            authorised_by=authorised_by,
        )
        settlement = settle(priced.total_fen, tenders, cash_rounding=cash_rounding)
        body = sale_body(priced, settlement, sale_id=sid, location=location, member=member)
        op = txn.append(COMPLETED.name, body, cashier)
        for ln in priced.lines:
            move = {"sku": ln.sku, "location": location, "qty": -ln.line.qty}
            txn.append(MOVED.name, {**move, "reason": "sale", "ref": sid}, cashier)
        if is_staff_id(cashier):  # an API token is no one the trail can name as asking
            for a in priced.authorised:
                grant = {"action": a.action, "staff_id": cashier, "by": a.by}
                detail = f"sale {sid}: {a.detail}"[:200]
                txn.append(
                    ACTION_AUTHORISED.name,
                    {**grant, "location": ledger.origin, "detail": detail},
                    cashier,
                )
        return checked_out_of(body, op.seq, replayed=False)

    # Tills ringing up at the same moment share one commit; each is answered after it.
    return ledger.write_together(sell)


# --- the receipt -----------------------------------------------------------------------

TENDER_LABELS: Final = {
    "cash": "现金",
    "wechat": "微信支付",
    "alipay": "支付宝",
    "card": "银行卡",
    "points": "积分抵扣",
}
THANKS: Final = ("谢谢惠顾，欢迎再次光临！",)


def _qty(line: CheckedOutLine) -> int | Decimal:
    if line.weight_g is None:
        return line.qty
    return Decimal(line.weight_g) / 1000  # kg, as the unit price is per kg


def receipt_of(
    checked_out: CheckedOut,
    *,
    store_name: str,
    cashier_name: str,
    member: str | None = None,
    at: datetime | None = None,
    footer: tuple[str, ...] = THANKS,
) -> Receipt:
    """The sale's receipt for the lane printer (`devices.printer`), in Chinese: the
    lines at catalog price, 小计 and each 优惠 when there are discounts, 合计, the cash
    rounding as 抹零, the tenders, 实收 (what was handed over) and 找零; the sale id as
    a QR code. `member` is how the member is shown (a masked phone, a name); `at` the
    local time of the sale."""
    co = checked_out
    header = [f"单号：{co.sale_id}", f"收银员：{cashier_name}"]
    if at is not None:
        header.append(f"时间：{at:%Y-%m-%d %H:%M}")
    if member:
        header.append(f"会员：{member}")
    lines = tuple(
        ReceiptLine(ln.name, _qty(ln), ln.unit_price_fen, ln.amount_fen) for ln in co.lines
    )
    totals: list[AmountLine] = []
    if co.discount_fen:
        totals.append(AmountLine("小计", co.subtotal_fen))
        totals.append(AmountLine("优惠", -co.discount_fen))
        totals += [AmountLine(f"  {name}", -fen) for name, fen in co.savings()]
    totals.append(AmountLine("合计", co.total_fen, bold=True))
    if co.rounding_fen:
        totals.append(AmountLine("抹零", co.rounding_fen))
        totals.append(AmountLine("应收", co.paid_fen, bold=True))
    payments = [AmountLine(TENDER_LABELS.get(t.type, t.type), t.amount_fen) for t in co.tenders]
    cash = any(t.type == "cash" for t in co.tenders)
    if co.tenders:
        payments.append(AmountLine("实收", sum(t.amount_fen for t in co.tenders)))
    if cash:
        payments.append(AmountLine("找零", co.change_fen))
    return Receipt(
        store_name=store_name,
        lines=lines,
        totals=tuple(totals),
        payments=tuple(payments),
        header_lines=tuple(header),
        footer_lines=footer,
        qr=QrCode(co.sale_id),
        open_drawer=cash,
    )
