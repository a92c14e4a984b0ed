"""Pure member rules: phones, tiers, earning and redeeming, reversals, and the bounded
counter of each member's points (values in, values out; docs/points.md).

**The bounded counter.** A member's points are split into allowances, one per holder
(a node, or the hub). A holder spends (redeems, gives away) only its own allowance and
only as far as it knows it: everything that lowers a holder's allowance is an op that
holder wrote itself, so what it knows of its allowance is never more than it is. No
allowance goes below zero, so their sum, the member's balance, never does either: two
stores cut off from each other can never redeem more between them than the member has.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import phonenumbers

from domain.errors import BusinessRuleError
from domain.members.config import MAX_POINTS, Basis, PointsRules, TierRule
from domain.members.errors import InvalidPhone, NotEnoughPointsHere
from domain.members.kinds import (
    ALLOWANCE_MOVED,
    ENROLLED,
    MAX_FEN,
    POINTS_EARNED,
    POINTS_REDEEMED,
    POINTS_REVERSED,
    PROFILE_SET,
)
from sync_protocol.hlc import wall_ms_of
from sync_protocol.merge import RegisterValue, lww_assign, stamp_of
from sync_protocol.ops import Op
from sync_protocol.origins import HUB

HUB_ONLY_FIELDS: Final = frozenset({"tier"})
"""Fields only the hub's writes set (a node that gave a member gold wrote nothing)."""
YEAR_MS: Final = 365 * 24 * 3_600_000
"""The rolling 12 months of a tier's basis, as 365 days of wall-clock time."""
PHONE_TEXT_MAX: Final = 40


# --- phones ----------------------------------------------------------------------------


def normalise_phone(text: str, region: str = "CN") -> str:
    """The E.164 form of a phone number as typed at a counter: without a country code
    it is read as a number of `region` (+86), full-width digits, spaces and dashes are
    fine. Raises InvalidPhone (Chinese and English) for anything not a valid number."""
    if not isinstance(text, str) or not text.strip() or len(text) > PHONE_TEXT_MAX:
        raise InvalidPhone(str(text))
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(text) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --- tiers and earning -----------------------------------------------------------------


@dataclass(frozen=True)
class Earning:
    """What one sale earned, net of its returns, and when it was earned."""

    at_ms: int
    points: int


def earned_on_basis(earnings: Iterable[Earning], now_ms: int, basis: Basis) -> int:
    """Points earned that count for a tier at `now_ms`: all of them (`lifetime`), or
    those earned in the 365 days up to `now_ms` (`rolling_12_months`). A sale's returns
    count at the time the sale earned, so a return never moves points across the edge."""
    since = now_ms - YEAR_MS
    return max(
        0,
        sum(e.points for e in earnings if basis == "lifetime" or since < e.at_ms <= now_ms),
    )


def tier_for(points: int, rules: PointsRules) -> TierRule:
    """The highest tier whose threshold `points` reach."""
    reached = rules.tiers[0]
    for tier in rules.tiers:
        if points >= tier.min_points:
            reached = tier
    return reached


def effective_tier(rules: PointsRules, hub_tier: str | None, proven_points: int) -> TierRule:
    """The tier a counter applies: the higher of the hub's word (it sees every store's
    earnings, or HQ granted it) and what the earnings this replica holds prove. A tier
    the rules no longer have counts as the lowest."""
    proven = tier_for(proven_points, rules)
    granted = rules.tier_named(hub_tier)
    if granted is None:
        return proven
    return granted if granted.min_points > proven.min_points else proven


def points_for_sale(amount_fen: int, tier: TierRule) -> int:
    """Points a sale of `amount_fen` earns at `tier`'s rate, rounded down."""
    if amount_fen <= 0:
        return 0
    return amount_fen * tier.points_per_100_yuan // 10_000


# --- redeeming -------------------------------------------------------------------------


def check_points(points: object, low: int = 1) -> int:
    """`points` if it is a whole number of points from `low` up, else BusinessRuleError."""
    if not isinstance(points, int) or isinstance(points, bool) or not low <= points <= MAX_POINTS:
        raise BusinessRuleError(
            f"points must be a whole number from {low} to {MAX_POINTS}",
            message_zh=f"积分须为 {low} 至 {MAX_POINTS} 的整数",
        )
    return points


def check_amount(fen: object) -> int:
    """`fen` if it is a whole, bounded number of fen, else BusinessRuleError."""
    if not isinstance(fen, int) or isinstance(fen, bool) or not 0 <= fen <= MAX_FEN:
        raise BusinessRuleError(
            f"an amount is a whole number of fen from 0 to {MAX_FEN}",
            message_zh=f"金额须为 0 至 {MAX_FEN} 分的整数",
        )
    return fen


def value_fen(points: int, rules: PointsRules) -> int:
    """What `points` pay, as a tender."""
    return points * rules.fen_per_point


def max_redeemable(total_fen: int, redeemable_here: int, rules: PointsRules) -> int:
    """The most points a sale of `total_fen` may take here: no more than this node's
    allowance, nor than the share of the total points may pay (never part of a point)."""
    payable_fen = total_fen * rules.max_share_percent // 100
    return max(0, min(redeemable_here, payable_fen // rules.fen_per_point))


def check_redeemable(phone: str, points: int, redeemable_here: int) -> None:
    """Raise NotEnoughPointsHere unless `points` fit in this node's allowance."""
    if points > redeemable_here:
        raise NotEnoughPointsHere(phone, points, max(0, redeemable_here))


def split_reversal(earned_back: int, redeemed_back: int, redeemable_here: int) -> tuple[int, int]:
    """A return takes back `earned_back` points the sale earned and gives back
    `redeemed_back` it redeemed. What it can take back is what this node's allowance
    holds after the give-back; the rest (already spent here or given away) is the
    shortfall the counter settles with the refund. Returns (taken, shortfall)."""
    taken = max(0, min(earned_back, redeemable_here + redeemed_back))
    return taken, earned_back - taken


# --- the ledger as a pure fold (the projection's oracle) --------------------------------


@dataclass
class PointsState:
    """A replica's points, folded from the ops it holds."""

    allowances: dict[tuple[str, str], int] = field(default_factory=dict)  # (phone, holder)
    earnings: dict[str, list[Earning]] = field(default_factory=dict)

    def balance(self, phone: str) -> int:
        return sum(p for (ph, _), p in self.allowances.items() if ph == phone)

    def allowance(self, phone: str, holder: str) -> int:
        return self.allowances.get((phone, holder), 0)


def entry_key(op: Op) -> tuple[str, str, str] | None:
    """The identity of a points fact: (origin, entry, ref). One per sale (or return) of
    an origin: a second under the same key counts for nothing (the first by seq wins)."""
    if op.kind == POINTS_EARNED.name:
        return (op.origin, "earned", str(op.body["sale_id"]))
    if op.kind == POINTS_REDEEMED.name:
        return (op.origin, "redeemed", str(op.body["sale_id"]))
    if op.kind == POINTS_REVERSED.name:
        return (op.origin, "reversed", str(op.body["return_id"]))
    return None


@dataclass(frozen=True)
class Effect:
    """A points fact's effect on its writer's allowance (and the balance: `delta`), and
    on its sale's earned and redeemed points; `shortfall`: earned points a return could
    not take back."""

    delta: int
    earned: int
    redeemed: int
    shortfall: int = 0


def entry_effect(op: Op) -> Effect:
    b = op.body
    if op.kind == POINTS_EARNED.name:
        return Effect(int(b["points"]), int(b["points"]), 0)
    if op.kind == POINTS_REDEEMED.name:
        return Effect(-int(b["points"]), 0, int(b["points"]))
    earned, redeemed = int(b.get("earned", 0)), int(b.get("redeemed", 0))
    shortfall = int(b.get("shortfall", 0))
    return Effect(redeemed - earned, -(earned + shortfall), -redeemed, shortfall)


def fold_points(ops: Iterable[Op]) -> PointsState:
    """Fold points facts and allowance moves, in any order, each op once."""
    state = PointsState()
    facts: dict[tuple[str, str, str], Op] = {}
    moves: dict[tuple[str, int], Op] = {}
    for op in ops:
        key = entry_key(op)
        if key is not None:
            if key not in facts or op.seq < facts[key].seq:
                facts[key] = op
        elif op.kind == ALLOWANCE_MOVED.name:
            moves[op.id] = op
    sales: dict[tuple[str, str, str], list[Op]] = {}  # (phone, origin, sale_id)
    for op in facts.values():
        phone = str(op.body["phone"])
        _add(state.allowances, (phone, op.origin), entry_effect(op).delta)
        sales.setdefault((phone, op.origin, str(op.body["sale_id"])), []).append(op)
    for op in moves.values():
        phone, points = str(op.body["phone"]), int(op.body["points"])
        _add(state.allowances, (phone, op.origin), -points)
        _add(state.allowances, (phone, str(op.body["to"])), points)
    for (phone, _, _), sale in sorted(sales.items()):
        earned = [op for op in sale if op.kind == POINTS_EARNED.name]
        net = sum(entry_effect(op).earned for op in sale)
        if earned:
            state.earnings.setdefault(phone, []).append(Earning(wall_ms_of(earned[0].hlc), net))
    return state


def _add(totals: dict[tuple[str, str], int], key: tuple[str, str], n: int) -> None:
    totals[key] = totals.get(key, 0) + n


def member_profiles(ops: Iterable[Op]) -> dict[str, dict[str, object]]:
    """Fold enrolments and profile writes to each member's fields (tier: hub only)."""
    members: dict[str, dict[str, RegisterValue]] = {}
    for op in ops:
        if op.kind not in (ENROLLED.name, PROFILE_SET.name):
            continue
        phone = str(op.body["phone"])
        fields = counted_fields(op)
        members[phone] = lww_assign(members.get(phone, {}), fields, stamp_of(op))
    return {phone: {k: rv.value for k, rv in f.items()} for phone, f in members.items()}


def counted_fields(op: Op) -> dict[str, object]:
    """The fields of an enrolment or profile write that count: all of the hub's; a
    node's without the hub-only ones."""
    fields = dict(op.body.get("fields") or {})
    if op.origin == HUB:
        return fields
    return {k: v for k, v in fields.items() if k not in HUB_ONLY_FIELDS}


# --- rebalancing (the hub's plan) ------------------------------------------------------


@dataclass(frozen=True)
class Ask:
    """An open ask: `origin` asked `of` for up to `points` of `phone`'s allowance."""

    origin: str
    seq: int
    phone: str
    of: str
    points: int
    at_ms: int


@dataclass(frozen=True)
class Grant:
    """The hub gives `points` (0: none to give) to the asker, answering `ask`."""

    ask: Ask
    points: int


@dataclass(frozen=True)
class Recall:
    """The hub asks `of` to give it `points` of `phone`'s allowance."""

    phone: str
    of: str
    points: int


def plan_rebalance(
    asks: Sequence[Ask],
    held: Mapping[tuple[str, str], int],
    recalls: Sequence[Ask],
    *,
    now_ms: int,
    wait_ms: int,
) -> tuple[list[Grant], list[Recall]]:
    """What the hub does about the open asks nodes made of it (`asks`), given every
    holder's allowance as the hub knows it (`held`, by (phone, holder)) and the asks it
    made of holders that are still open (`recalls`).

    Per member, oldest ask first: an ask the hub's own allowance covers is granted in
    full. Otherwise the hub recalls what it lacks from the other holders (largest
    first; none it is already waiting on) and waits for their answers, at most
    `wait_ms` after the ask; then it grants what it has (0 answers "none"). A member's
    later asks wait behind an earlier one that waits."""
    grants: list[Grant] = []
    out: list[Recall] = []
    by_phone: dict[str, list[Ask]] = {}
    for ask in sorted(asks, key=lambda a: (a.at_ms, a.origin, a.seq)):
        by_phone.setdefault(ask.phone, []).append(ask)
    for phone, mine in sorted(by_phone.items()):
        pool = max(0, held.get((phone, HUB), 0))
        waiting_on = {r.of for r in recalls if r.phone == phone}
        pending = sum(r.points for r in recalls if r.phone == phone)
        for ask in mine:
            if pool >= ask.points:
                grants.append(Grant(ask, ask.points))
                pool -= ask.points
                continue
            need = ask.points - pool - pending
            others = sorted(
                (
                    (p, h)
                    for (ph, h), p in held.items()
                    if ph == phone and p > 0 and h not in (HUB, ask.origin, *waiting_on)
                ),
                reverse=True,
            )
            for points, holder in others:
                if need <= 0:
                    break
                take = min(points, need)
                out.append(Recall(phone, holder, take))
                waiting_on.add(holder)
                pending += take
                need -= take
            if pending > 0 and now_ms - ask.at_ms < wait_ms:
                break  # the answers may come: this ask and the member's later ones wait
            grants.append(Grant(ask, pool))
            pool = 0
    return grants, out
