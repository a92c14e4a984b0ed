"""The counter's pricing errors. Each says what happened and what to do, in English and
Chinese (`message_zh`, shown to the cashier); nothing was written when one is raised.

    BusinessRuleError (domain.errors)
    ├── BadBarcode            a scanned code whose EAN-13 check digit is wrong: rescan
    │   └── BadValueCheckDigit  a price-embedded code whose price (or weight) check
    │                         digit is wrong: rescan, or key the item in
    ├── BadWeight             a weight that cannot be sold (nothing on the scale, a tare
    │                         not less than the gross, more than a scale can weigh)
    ├── DiscountRefused       a discount no one may give (more than the amount)
    ├── NeedsAuthorisation    allowed, but over the limit of who asked: the counter asks
    │                         for a supervisor's PIN and tries again with their role
    └── PaymentRefused        tenders that do not settle the sale
        ├── IncompletePayment   less than is due
        ├── NonCashOverpay      card, WeChat, Alipay or points over the amount due (they
        │                       give no change)
        └── DuplicateTender     the same payment reference twice

A store's or HQ's setting that contradicts itself (two barcode layouts claiming one
prefix, two promotions with one id) is a `ConfigurationError` (`sync_protocol.errors`).

HTTP: all are `BusinessRuleError`s (422 in `web_ui.errors`); a till tells
`NeedsAuthorisation` from the others by the error's name and its `action`.
"""

from __future__ import annotations

from domain.errors import BusinessRuleError
from domain.pricing.money import yuan
from domain.staff.kinds import AuthorisedAction


class BadBarcode(BusinessRuleError):
    """The code's check digit is wrong: a misread or a damaged label. Rescan."""


class BadValueCheckDigit(BadBarcode):
    """The check digit over the price or weight inside a price-embedded code is wrong."""


class BadWeight(BusinessRuleError):
    """The weight cannot be sold; weigh again."""


class DiscountRefused(BusinessRuleError):
    """A discount that no one may give, authorised or not."""


class NeedsAuthorisation(BusinessRuleError):
    """Over the limit of the one who asked (or of the authoriser who was asked): the
    counter asks for a supervisor's PIN (`edge.services.staff.authorise`) and calls
    again with that supervisor's role. `detail` is ready for the
    `staff.action_authorised` op's own `detail`."""

    def __init__(
        self,
        action: AuthorisedAction,
        *,
        role: str,
        change_fen: int,
        base_fen: int,
        limit: str,
        detail: str,
    ) -> None:
        what_en, what_zh = _ACTIONS[action]
        who_en, who_zh = _NEXT_UP.get(role, _NEXT_UP["cashier"])
        super().__init__(
            f"{what_en} of {yuan(change_fen)} on {yuan(base_fen)} is over the {role}'s "
            f"limit ({limit}): {who_en}",
            message_zh=f"{what_zh} {yuan(change_fen)}（金额 {yuan(base_fen)}）超出"
            f"{_ROLE_ZH.get(role, role)}权限（{limit}），{who_zh}",
        )
        self.action: AuthorisedAction = action
        self.role = role
        self.change_fen = change_fen
        self.base_fen = base_fen
        self.detail = detail[:200]


class PaymentRefused(BusinessRuleError):
    """The tenders do not settle the sale; nothing was recorded."""


class IncompletePayment(PaymentRefused):
    def __init__(self, short_fen: int) -> None:
        super().__init__(
            f"{yuan(short_fen)} is still to pay", message_zh=f"还差 {yuan(short_fen)} 未支付"
        )
        self.short_fen = short_fen


class NonCashOverpay(PaymentRefused):
    def __init__(self, over_fen: int) -> None:
        super().__init__(
            f"card, WeChat, Alipay and points pay {yuan(over_fen)} more than is due and "
            "give no change: lower them",
            message_zh=f"非现金支付超出应付金额 {yuan(over_fen)}，非现金不能找零，请调整金额",
        )
        self.over_fen = over_fen


class DuplicateTender(PaymentRefused):
    def __init__(self, kind: str, reference: str) -> None:
        super().__init__(
            f"{kind} payment {reference} is entered twice",
            message_zh=f"支付流水号 {reference}（{kind}）重复录入",
        )
        self.reference = reference


_ACTIONS: dict[str, tuple[str, str]] = {
    "discount_over_limit": ("a discount", "折扣"),
    "price_override": ("a price change", "改价"),
    "void": ("a void", "作废"),
    "refund": ("a refund", "退款"),
    "no_sale_drawer": ("opening the drawer", "开钱箱"),
}
#: Who to ask when a role's limit is passed.
_NEXT_UP: dict[str, tuple[str, str]] = {
    "cashier": ("a supervisor must authorise it", "请主管授权"),
    "warehouse": ("a supervisor must authorise it", "请主管授权"),
    "supervisor": ("a manager must authorise it", "请店长授权"),
    "manager": ("no one may authorise this much: change the amount", "无人可授权，请调整金额"),
}
_ROLE_ZH: dict[str, str] = {
    "cashier": "收银员",
    "supervisor": "主管",
    "warehouse": "仓管",
    "manager": "店长",
}
