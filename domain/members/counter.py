"""Members at the counter, inside the caller's write transaction (`WriteTxn`), so a
sale, its points and its points tender commit together or not at all: look a member up
or enrol them by phone, change their profile, earn points on a sale, redeem points as a
tender, and reverse a sale's points on a return. Each checks what this replica holds
and writes the op; nothing waits on the network.

A redemption is checked against this node's allowance for the member (docs/points.md),
not their balance: a store cut off from the others can spend only what it holds. Each
check is made again after the op is written, inside the transaction: on the hub's
PostgreSQL several workers write as the hub at once, and the second to commit then
finds the first's op (the head lock orders them) and is refused."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from domain.errors import BusinessRuleError, NotFound
from domain.members.errors import AlreadyRecorded, HubOnly, NotEnoughPointsHere, UnknownMember
from domain.members.kinds import (
    ENROLLED,
    POINTS_EARNED,
    POINTS_REDEEMED,
    POINTS_REVERSED,
    PROFILE_SET,
    MemberFields,
)
from domain.members.queries import (
    Member,
    allowance,
    member_by_phone,
    member_tier,
    points_rules,
    recorded_entry,
    sale_points,
)
from domain.members.rules import (
    check_amount,
    check_points,
    check_redeemable,
    max_redeemable,
    normalise_phone,
    points_for_sale,
    split_reversal,
    value_fen,
)
from sync_protocol.hlc import system_ms
from sync_protocol.origins import HUB
from sync_protocol.store.replica import WriteTxn


@dataclass(frozen=True)
class Earned:
    phone: str
    sale_id: str
    points: int  # 0: the sale earned nothing (nothing written)
    tier: str
    seq: int | None
    replayed: bool = False


@dataclass(frozen=True)
class Redeemed:
    phone: str
    sale_id: str
    points: int
    value_fen: int  # what the points pay of the sale
    redeemable_here: int  # left at this node after it
    seq: int
    replayed: bool = False


@dataclass(frozen=True)
class Reversed:
    phone: str
    sale_id: str
    return_id: str
    earned: int  # earned points taken back out of this node's allowance
    redeemed: int  # redeemed points given back to it
    shortfall: int  # earned points already spent: settle them with the refund
    shortfall_fen: int  # their value as a tender
    seq: int | None
    replayed: bool = False


def look_up(conn: Connection, phone_text: str) -> Member | None:
    """The member with this phone (as typed; +86 unless it says otherwise), or None."""
    return member_by_phone(conn, normalise_phone(phone_text))


def enrol(
    txn: WriteTxn, phone_text: str, *, location: str, actor: str, name: str | None = None
) -> Member:
    """The member with this phone, enrolled here now if this replica knew of none."""
    phone = normalise_phone(phone_text)
    known = member_by_phone(txn.conn, phone)
    if known is not None:
        return known
    fields = MemberFields(name=name).changes()
    txn.append(ENROLLED.name, {"phone": phone, "location": location, "fields": fields}, actor)
    enrolled = member_by_phone(txn.conn, phone)
    assert enrolled is not None  # folded in this transaction
    return enrolled


def change_profile(txn: WriteTxn, phone_text: str, fields: MemberFields, *, actor: str) -> Member:
    """Set the fields given (name; tier at the hub only, one of the rules' tiers)."""
    phone = _known(txn.conn, phone_text)
    changes = fields.changes()
    if not changes:
        raise BusinessRuleError("nothing to change", message_zh="没有要修改的内容")
    if "tier" in changes:
        if txn.store.origin != HUB:
            raise HubOnly("set a member's tier", "设置会员等级")
        if points_rules(txn.conn).tier_named(changes["tier"]) is None:
            names = "、".join(t.name for t in points_rules(txn.conn).tiers)
            raise BusinessRuleError(
                f"no tier {changes['tier']!r} in the points rules ({names})",
                message_zh=f"积分规则中没有等级“{changes['tier']}”（现有：{names}）",
            )
    txn.append(PROFILE_SET.name, {"phone": phone, "fields": changes}, actor)
    changed = member_by_phone(txn.conn, phone)
    assert changed is not None
    return changed


def earn(
    txn: WriteTxn,
    phone_text: str,
    *,
    sale_id: str,
    amount_fen: int,
    location: str,
    actor: str,
    now_ms: int | None = None,
) -> Earned:
    """Points for this node's sale `sale_id` of `amount_fen`, at the tier the member has
    here now and the hub's rates; they join this node's allowance. The same sale again
    (a retry) answers what was recorded; with another amount it is refused."""
    phone = _known(txn.conn, phone_text)
    check_amount(amount_fen)
    conn, origin = txn.conn, txn.store.origin
    recorded = recorded_entry(conn, origin, "earned", sale_id)
    rules = points_rules(conn)
    tier = member_tier(conn, phone, rules, system_ms() if now_ms is None else now_ms)
    if recorded is not None:
        if recorded.phone != phone or recorded.fen != amount_fen:
            raise AlreadyRecorded("sale", sale_id)
        return Earned(phone, sale_id, recorded.delta, tier.name, recorded.seq, replayed=True)
    points = points_for_sale(amount_fen, tier)
    if points == 0:
        return Earned(phone, sale_id, 0, tier.name, None)
    body = {
        "phone": phone,
        "sale_id": sale_id,
        "location": location,
        "points": points,
        "amount_fen": amount_fen,
        "tier": tier.name,
    }
    op = txn.append(POINTS_EARNED.name, body, actor)
    return Earned(phone, sale_id, points, tier.name, op.seq)


def redeem(
    txn: WriteTxn,
    phone_text: str,
    *,
    sale_id: str,
    points: int,
    location: str,
    actor: str,
    sale_total_fen: int | None = None,
) -> Redeemed:
    """Spend `points` of this node's allowance for the member as a tender of this node's
    sale `sale_id`. Refused (NotEnoughPointsHere: how many are redeemable here) beyond
    the allowance, whatever the member holds elsewhere; with `sale_total_fen`, also
    beyond the share of a sale points may pay. A retry answers what was recorded."""
    phone = _known(txn.conn, phone_text)
    check_points(points)
    conn, origin = txn.conn, txn.store.origin
    recorded = recorded_entry(conn, origin, "redeemed", sale_id)
    if recorded is not None:
        if recorded.phone != phone or recorded.redeemed != points:
            raise AlreadyRecorded("sale", sale_id)
        left = allowance(conn, phone, origin)
        return Redeemed(phone, sale_id, points, recorded.fen, left, recorded.seq, replayed=True)
    here = allowance(conn, phone, origin)
    check_redeemable(phone, points, here)
    rules = points_rules(conn)
    if sale_total_fen is not None:
        check_amount(sale_total_fen)
        most = max_redeemable(sale_total_fen, here, rules)
        if points > most:
            raise BusinessRuleError(
                f"points may pay at most {rules.max_share_percent}% of this sale: "
                f"{most} points at most",
                message_zh=f"积分最多抵扣本单金额的 {rules.max_share_percent}%，即最多 {most} 分",
            )
    value = value_fen(points, rules)
    body = {
        "phone": phone,
        "sale_id": sale_id,
        "location": location,
        "points": points,
        "value_fen": value,
    }
    op = txn.append(POINTS_REDEEMED.name, body, actor)
    left = _still_covered(txn, phone, points)
    return Redeemed(phone, sale_id, points, value, left, op.seq)


def reverse(
    txn: WriteTxn,
    phone_text: str,
    *,
    sale_id: str,
    return_id: str,
    location: str,
    actor: str,
    earned: int | None = None,
    redeemed: int | None = None,
) -> Reversed:
    """A return (`return_id`) of this node's sale `sale_id`: give back `redeemed` of the
    points it redeemed (to this node's allowance: it redeemed them) and take back
    `earned` of those it earned (default: all that are left of each, a full return).
    Earned points already spent cannot be taken back: they are the `shortfall`, whose
    value the counter deducts from the refund (or writes off). A retry answers what was
    recorded."""
    phone = _known(txn.conn, phone_text)
    conn, origin = txn.conn, txn.store.origin
    first = recorded_entry(conn, origin, "earned", sale_id) or recorded_entry(
        conn, origin, "redeemed", sale_id
    )
    if first is None or first.phone != phone:
        raise NotFound(
            f"no points were recorded here for sale {sale_id!r} of {phone}",
            message_zh=f"本店没有会员 {phone} 在单号 {sale_id} 的积分记录",
        )
    rules = points_rules(conn)
    recorded = recorded_entry(conn, origin, "reversed", return_id)
    if recorded is not None:
        if recorded.phone != phone or recorded.sale_id != sale_id:
            raise AlreadyRecorded("return", return_id)
        taken = -recorded.earned - recorded.shortfall
        return Reversed(
            phone,
            sale_id,
            return_id,
            taken,
            -recorded.redeemed,
            recorded.shortfall,
            value_fen(recorded.shortfall, rules),
            recorded.seq,
            replayed=True,
        )
    left = sale_points(conn, origin, sale_id, phone)
    earned_back = left.earned if earned is None else check_points(earned, 0)
    redeemed_back = left.redeemed if redeemed is None else check_points(redeemed, 0)
    if not 0 <= earned_back <= left.earned or not 0 <= redeemed_back <= left.redeemed:
        raise BusinessRuleError(
            f"sale {sale_id!r} has {left.earned} earned and {left.redeemed} redeemed points "
            "left to reverse",
            message_zh=f"单号 {sale_id} 可冲回的积分为：获得 {left.earned} 分，"
            f"抵扣 {left.redeemed} 分",
        )
    taken, shortfall = split_reversal(earned_back, redeemed_back, allowance(conn, phone, origin))
    if not (taken or redeemed_back or shortfall):
        return Reversed(phone, sale_id, return_id, 0, 0, 0, 0, None)
    body = {
        "phone": phone,
        "sale_id": sale_id,
        "return_id": return_id,
        "location": location,
        "earned": taken,
        "redeemed": redeemed_back,
        "shortfall": shortfall,
    }
    op = txn.append(POINTS_REVERSED.name, body, actor)
    _still_covered(txn, phone, 0)
    return Reversed(
        phone,
        sale_id,
        return_id,
        taken,
        redeemed_back,
        shortfall,
        value_fen(shortfall, rules),
        op.seq,
    )


def _known(conn: Connection, phone_text: str) -> str:
    phone = normalise_phone(phone_text)
    if member_by_phone(conn, phone) is None:
        raise UnknownMember(phone)
    return phone


def _still_covered(txn: WriteTxn, phone: str, spent: int) -> int:
    """This node's allowance after what the transaction wrote; below zero (another
    writer of this origin committed first) the transaction is refused."""
    left = allowance(txn.conn, phone, txn.store.origin)
    if left < 0:
        raise NotEnoughPointsHere(phone, spent, max(0, left + spent))
    return left
