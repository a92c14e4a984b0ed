"""What a counter is told when a member request breaks a rule (nothing was written):

BusinessRuleError (domain.errors)
├── InvalidPhone           not a phone number (after +86 normalisation)
├── NotEnoughPointsHere    more points than this node's allowance for the member,
│                          however many the member has elsewhere (docs/points.md)
├── HubOnly                what only HQ may do (tiers, the points rules, asking a
│                          node for its allowance), tried at a node
├── NotFound (domain.errors)
│   └── UnknownMember      no member with that phone here: enrol them first
└── Conflict (domain.errors)
    └── AlreadyRecorded    a sale's or return's id reused for different points
"""

from __future__ import annotations

from domain.errors import BusinessRuleError, Conflict, NotFound


class InvalidPhone(BusinessRuleError):
    """Not a valid phone number (Chinese numbers without +86 are read as Chinese)."""

    def __init__(self, text: str) -> None:
        shown = text if len(text) <= 32 else text[:32] + "…"
        super().__init__(
            f"{shown!r} is not a valid phone number: enter the member's mobile number",
            message_zh=f"“{shown}”不是有效的手机号码，请输入会员的手机号",
        )
        self.text = text


class UnknownMember(NotFound):
    """No member with this phone on this replica: enrol them first."""

    def __init__(self, phone: str) -> None:
        super().__init__(
            f"no member with phone {phone} here: enrol them first",
            message_zh=f"本店没有手机号为 {phone} 的会员，请先登记入会",
        )
        self.phone = phone


class NotEnoughPointsHere(BusinessRuleError):
    """The points asked for exceed what this node may spend for the member now (its
    allowance), even if the member's balance elsewhere is higher."""

    def __init__(self, phone: str, asked: int, redeemable_here: int) -> None:
        super().__init__(
            f"not enough points redeemable here now: {asked} asked, {redeemable_here} "
            f"redeemable at this store for {phone} (points held elsewhere must be moved "
            "here by HQ first)",
            message_zh=f"本店当前可用积分不足：需要 {asked} 分，会员 {phone} 在本店现可用 "
            f"{redeemable_here} 分（其余积分在其他门店或总部，须由总部调拨后才能在本店使用）",
        )
        self.phone = phone
        self.asked = asked
        self.redeemable_here = redeemable_here


class HubOnly(BusinessRuleError):
    """Only the hub (HQ) may do this."""

    def __init__(self, what: str, what_zh: str) -> None:
        super().__init__(f"only HQ may {what}", message_zh=f"只有总部可以{what_zh}")


class AlreadyRecorded(Conflict):
    """A sale or return id already recorded here with other points."""

    def __init__(self, what: str, ref: str) -> None:
        super().__init__(
            f"{what} {ref!r} is already recorded with other points: use a new id",
            message_zh=f"{ref} 已记录过不同的积分，请使用新的单号",
        )
