"""The store counter's checkout over HTTP: `POST /api/checkout` (`edge.services.checkout`).

The till sends the lines (a SKU and a quantity, a scanned code, or a SKU and the weight
the scale settled at), the cashier's discounts, the tenders and its own `sale_id`; the
node prices the cart from its catalog with the store's promotions, settles the tenders
and records the sale. The answer is the sale as recorded (each line's discounts, the
totals, tenders, change and cash rounding); a retry with the same `sale_id` and body
gets the same answer with `replayed: true`, and another body under it is 409.

Inputs are strict and bounded like the rest of the API (`edge.api`): each kind of line
and tender is its own object, so what the schema accepts is what the node accepts.

**A discount over the cashier's limit** answers 422 in the `ErrorOut` shape, `error`
"NeedsAuthorisation", `fields` naming the discount (`lines[2].discount` or `discount`),
with three fields added: `action` ("discount_over_limit"), `limit_role` (whose limit it
passes: ask the role above it) and `detail`. Nothing is written. The till asks a
supervisor for their id and PIN and sends the same request again with `authoriser`; the
PIN is checked only when a discount needs it (a wrong one answers 422 "PinRefused", and
counts towards their lock-out as at a login), and the sale records who authorised which
discount.

The store's counter settings (its scales' layouts, limits, promotions, cash rounding)
are `app.state.counter` (`CounterSettings`) when the app sets it, else the defaults.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.catalog.kinds import MAX_PRICE_FEN, Sku
from domain.pricing.discounts import ManualDiscount
from domain.pricing.errors import NeedsAuthorisation
from domain.pricing.tenders import MAX_TENDERS, Alipay, Card, Cash, Points, Tender, WeChat
from domain.pricing.weighed import MAX_WEIGHT_G
from domain.sales.checkout import CheckoutLine, authorisation_fields
from domain.sales.kinds import MAX_LINE_QTY, MAX_LINES
from domain.staff.kinds import StaffId
from edge.access import SalesWriter
from edge.api import Count, SaleId
from edge.deps import NodeDep, Writers, WritersDep
from edge.node import Node
from edge.services.checkout import CheckedOut, CounterSettings, check_out
from edge.services.staff import LoggedIn, authorise
from web_ui.errors import error_body, error_responses

router = APIRouter(prefix="/api")

_PRINTABLE: Final = r"^[^\x00-\x1f\x7f]+$"
Reason = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_PRINTABLE)]
ScanCode = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z._-]+$")
]
Reference = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z._:/-]+$")
]
Pin = Annotated[str, StringConstraints(min_length=6, max_length=12, pattern=r"^[0-9]+$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# --- what the till sends ---------------------------------------------------------------


class PercentOffIn(_In):
    percent: Count = Field(ge=1, le=100, description="percent off: 10 is 9折")
    reason: Reason | None = Field(default=None, description="临期, 破损… (on the receipt)")


class AmountOffIn(_In):
    amount_fen: Count = Field(ge=1, le=MAX_PRICE_FEN, description="fen off")
    reason: Reason | None = Field(default=None, description="临期, 破损… (on the receipt)")


DiscountIn = PercentOffIn | AmountOffIn


class SkuLineIn(_In):
    sku: Sku
    qty: Count = Field(default=1, ge=1, le=MAX_LINE_QTY)
    discount: DiscountIn | None = Field(default=None, description="the cashier's, on this line")


class ScannedLineIn(_In):
    code: ScanCode = Field(
        description="as scanned: an item's barcode, or a price-embedded scale label "
        "(its PLU names the item, its price or weight prices it)"
    )
    qty: Count = Field(default=1, ge=1, le=MAX_LINE_QTY)
    discount: DiscountIn | None = Field(default=None, description="the cashier's, on this line")


class WeighedLineIn(_In):
    sku: Sku
    weight_g: Count = Field(ge=1, le=MAX_WEIGHT_G, description="the settled weight, grams")
    tare_g: Count = Field(default=0, ge=0, le=MAX_WEIGHT_G, description="less than weight_g")
    discount: DiscountIn | None = Field(default=None, description="the cashier's, on this line")


LineIn = SkuLineIn | ScannedLineIn | WeighedLineIn


class CashIn(_In):
    type: Literal["cash"]
    tendered_fen: Count = Field(ge=1, le=MAX_PRICE_FEN, description="what the customer handed over")


class CardIn(_In):
    type: Literal["card"]
    amount_fen: Count = Field(ge=1, le=MAX_PRICE_FEN)
    reference: Reference = Field(description="the terminal's reference")


class WeChatIn(_In):
    type: Literal["wechat"]
    amount_fen: Count = Field(ge=1, le=MAX_PRICE_FEN)
    reference: Reference = Field(description="the payment's transaction id")


class AlipayIn(_In):
    type: Literal["alipay"]
    amount_fen: Count = Field(ge=1, le=MAX_PRICE_FEN)
    reference: Reference = Field(description="the payment's transaction id")


class PointsIn(_In):
    type: Literal["points"]
    amount_fen: Count = Field(
        ge=1, le=MAX_PRICE_FEN, description="the value of the points redeemed"
    )
    reference: Reference | None = None


TenderIn = Annotated[CashIn | CardIn | WeChatIn | AlipayIn | PointsIn, Field(discriminator="type")]


class AuthoriserIn(_In):
    staff_id: StaffId
    pin: Pin


class CheckoutIn(_In):
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)
    tenders: list[TenderIn] = Field(
        default_factory=list,
        max_length=MAX_TENDERS,
        description="non-cash ones pay first and never more than is due; cash last, with change",
    )
    discount: DiscountIn | None = Field(default=None, description="the cashier's, on the sale")
    member: bool = Field(default=False, description="a member's sale: member prices apply")
    sale_id: SaleId | None = Field(
        default=None,
        description="the till's id for this sale: a retry with the same id and body is "
        "answered with the recorded sale (replayed=true); another body under it is 409",
    )
    authoriser: AuthoriserIn | None = Field(
        default=None,
        description="a supervisor's id and PIN, after a NeedsAuthorisation answer",
    )


# --- the answer ------------------------------------------------------------------------


class DiscountOut(BaseModel):
    source: str = Field(description="promotion, or manual (the cashier's)")
    scope: str = Field(description="line, or cart: this line's share of one on the sale")
    name: str
    fen: int
    promotion_id: str | None


class CheckoutLineOut(BaseModel):
    sku: str
    name: str
    qty: int
    unit_price_fen: int = Field(description="per kg when weight_g is set")
    amount_fen: int = Field(description="at catalog price")
    discount_fen: int
    net_fen: int = Field(description="what the customer pays for the line")
    discounts: list[DiscountOut]
    code: str | None
    weight_g: int | None = Field(description="net grams of goods sold by weight")
    promotion_id: str | None


class CartDiscountOut(BaseModel):
    source: str
    name: str
    fen: int
    promotion_id: str | None


class TenderOut(BaseModel):
    type: str
    amount_fen: int = Field(description="cash: what was handed over")
    reference: str | None


class AuthorisedOut(BaseModel):
    on: str = Field(description="line or cart")
    line: int | None
    sku: str | None
    fen: int
    by: str = Field(description="the staff id whose PIN authorised it")
    role: str
    detail: str


class CheckoutOut(BaseModel):
    sale_id: str
    lines: list[CheckoutLineOut]
    subtotal_fen: int = Field(description="the lines at catalog prices")
    discount_fen: int
    total_fen: int = Field(description="after discounts, before the cash rounding")
    cart_discounts: list[CartDiscountOut]
    tenders: list[TenderOut]
    change_fen: int
    rounding_fen: int = Field(description="the cash rounding (抹零), negative when less is paid")
    paid_fen: int = Field(description="what the store keeps: total_fen + rounding_fen")
    payment: str = Field(description="the first tender's type (none for a ¥0.00 sale)")
    member: bool
    authorised: list[AuthorisedOut]
    op_seq: int
    replayed: bool


_ERRORS: Final = error_responses(400, 404, 409, 413, 422, 503, 507)
_ERRORS[422] = {
    **_ERRORS[422],
    "description": "a field is missing, of the wrong type, out of bounds or unknown "
    "(`fields` names them); or a rule refuses the sale: a bad code or weight, tenders "
    "that do not pay it, a wrong authoriser PIN (`error` names which). `error` "
    "NeedsAuthorisation is a discount over the cashier's limit: the answer adds "
    "`action` (discount_over_limit), `limit_role` (whose limit it passes: ask the role "
    "above it) and `detail`, and `fields` names the discount; send the same request "
    "again with a supervisor's `authoriser`",
}


# --- the route -------------------------------------------------------------------------

DEFAULT_COUNTER: Final = CounterSettings()


async def _counter(request: Request) -> CounterSettings:
    counter = getattr(request.app.state, "counter", None)
    return counter if isinstance(counter, CounterSettings) else DEFAULT_COUNTER


CounterDep = Annotated[CounterSettings, Depends(_counter)]


@router.post(
    "/checkout",
    response_model=CheckoutOut,
    operation_id="check_out",
    responses={
        200: {"description": "the sale, or the recorded one when this is a retry (replayed)"},
        **_ERRORS,
    },
)
async def post_checkout(
    body: CheckoutIn, node: NodeDep, writers: WritersDep, who: SalesWriter, counter: CounterDep
) -> Response:
    sale = partial(
        check_out,
        node.ledger,
        node.location,
        [_line(line) for line in body.lines],
        [_tender(t) for t in body.tenders],
        cashier=who.actor,
        cashier_role=who.role or "cashier",  # an API token gives what a cashier may
        sale_id=body.sale_id,
        promotions=counter.promotions,
        member=body.member,
        cash_rounding=counter.cash_rounding,
        now=datetime.now(ZoneInfo(node.settings.timezone)),
        discount=_discount(body.discount),
        limits=counter.limits,
        layouts=counter.layouts,
    )
    try:
        done = await writers.run(sale)
    except NeedsAuthorisation as exc:
        if body.authoriser is None:
            return _needs_authorisation(exc)
        by = await _authoriser(node, writers, body.authoriser)
        try:
            done = await writers.run(sale, authorised_by=(by.staff_id, by.role))
        except NeedsAuthorisation as again:  # over the supervisor's limit too
            return _needs_authorisation(again)
    node.ops_written()
    return Response(_out(done).model_dump_json(), media_type="application/json")


async def _authoriser(node: Node, writers: Writers, given: AuthoriserIn) -> LoggedIn:
    try:
        return await writers.run(authorise, node.ledger, given.staff_id, given.pin)
    finally:
        node.ops_written()  # the PIN try is an op, right or wrong


def _needs_authorisation(exc: NeedsAuthorisation) -> JSONResponse:
    """The error answer (`ErrorOut`) with what the till needs to ask a supervisor."""
    body: dict[str, Any] = {
        **error_body(exc),
        "fields": authorisation_fields(exc) or None,
        "action": exc.action,
        "limit_role": exc.role,
        "detail": exc.detail,
    }
    return JSONResponse(body, status_code=422)


def _discount(given: DiscountIn | None) -> ManualDiscount | None:
    if given is None:
        return None
    if isinstance(given, PercentOffIn):
        return ManualDiscount(percent=given.percent, reason=given.reason)
    return ManualDiscount(amount_fen=given.amount_fen, reason=given.reason)


def _line(given: LineIn) -> CheckoutLine:
    discount = _discount(given.discount)
    if isinstance(given, ScannedLineIn):
        return CheckoutLine(code=given.code, qty=given.qty, discount=discount)
    if isinstance(given, WeighedLineIn):
        return CheckoutLine(
            sku=given.sku, weight_g=given.weight_g, tare_g=given.tare_g, discount=discount
        )
    return CheckoutLine(sku=given.sku, qty=given.qty, discount=discount)


def _tender(given: CashIn | CardIn | WeChatIn | AlipayIn | PointsIn) -> Tender:
    if isinstance(given, CashIn):
        return Cash(tendered_fen=given.tendered_fen)
    if isinstance(given, PointsIn):
        return Points(amount_fen=given.amount_fen, reference=given.reference)
    kind: Any = {"card": Card, "wechat": WeChat, "alipay": Alipay}[given.type]
    tender: Tender = kind(amount_fen=given.amount_fen, reference=given.reference)
    return tender


def _out(done: CheckedOut) -> CheckoutOut:
    return CheckoutOut(
        sale_id=done.sale_id,
        lines=[
            CheckoutLineOut(
                sku=ln.sku,
                name=ln.name,
                qty=ln.qty,
                unit_price_fen=ln.unit_price_fen,
                amount_fen=ln.amount_fen,
                discount_fen=ln.discount_fen,
                net_fen=ln.net_fen,
                discounts=[DiscountOut(**vars(d)) for d in ln.discounts],
                code=ln.code,
                weight_g=ln.weight_g,
                promotion_id=ln.promotion_id,
            )
            for ln in done.lines
        ],
        subtotal_fen=done.subtotal_fen,
        discount_fen=done.discount_fen,
        total_fen=done.total_fen,
        cart_discounts=[CartDiscountOut(**vars(c)) for c in done.cart_discounts],
        tenders=[TenderOut(**vars(t)) for t in done.tenders],
        change_fen=done.change_fen,
        rounding_fen=done.rounding_fen,
        paid_fen=done.paid_fen,
        payment=done.payment,
        member=done.member,
        authorised=[AuthorisedOut(**vars(a)) for a in done.authorised],
        op_seq=done.op_seq,
        replayed=done.replayed,
    )
