"""Moving allowance between holders (docs/points.md), inside the caller's write
transaction: give some of this replica's allowance to another holder, ask a holder for
some, answer the asks made of this replica, and, at the hub, rebalance (grant what it
holds to the stores that asked, recall from other stores what it lacks). Also the hub's
other points duties: setting the points rules and the members' tiers.

Star topology: a node receives the hub's ops and its own, never another node's. So a
node gives to the hub and asks the hub, and only the hub gives to or asks a node;
"store A gives to store B" is A giving to the hub and the hub giving to B."""

from __future__ import annotations

from sqlalchemy import select

from domain.errors import BusinessRuleError
from domain.members.config import PointsRules
from domain.members.errors import HubOnly, NotEnoughPointsHere
from domain.members.kinds import ALLOWANCE_ASKED, ALLOWANCE_MOVED, PROFILE_SET, RULES_SET
from domain.members.queries import (
    allowance,
    allowances,
    earnings,
    member_by_phone,
    open_asks,
    open_asks_by,
    points_rules,
)
from domain.members.rules import (
    Ask,
    check_points,
    earned_on_basis,
    normalise_phone,
    plan_rebalance,
    tier_for,
)
from domain.members.tables import member_enrolments, member_fields
from sync_protocol.hlc import system_ms
from sync_protocol.ops import Op
from sync_protocol.origins import HUB
from sync_protocol.store.replica import WriteTxn

RECALL_WAIT_MS = 10 * 60_000
"""How long the hub waits for the stores it recalled allowance from before it grants a
store's ask what it has (a recalled store may be offline for days)."""


def give(
    txn: WriteTxn,
    phone_text: str,
    *,
    to: str,
    points: int,
    actor: str,
    answers: Ask | None = None,
) -> Op:
    """Give `points` of this replica's allowance for the member to `to` (0 only when
    answering an ask: "none here"). A node gives to the hub only."""
    phone = normalise_phone(phone_text)
    origin = txn.store.origin
    if to == origin:
        raise BusinessRuleError("a holder cannot give to itself", message_zh="不能调拨给自己")
    if origin != HUB and to != HUB:
        raise BusinessRuleError(
            f"a store gives points allowance to HQ only ({to!r} would never see it): "
            "HQ passes it on",
            message_zh="门店只能把积分额度交回总部（其他门店收不到本店的记录），由总部再调拨",
        )
    low = 0 if answers is not None else 1
    check_points(points, low)
    here = allowance(txn.conn, phone, origin)
    if points > here:
        raise NotEnoughPointsHere(phone, points, max(0, here))
    body: dict[str, object] = {"phone": phone, "to": to, "points": points}
    if answers is not None:
        body["answers"] = {"origin": answers.origin, "seq": answers.seq}
    op = txn.append(ALLOWANCE_MOVED.name, body, actor)
    if allowance(txn.conn, phone, origin) < 0:  # another writer of this origin was first
        raise NotEnoughPointsHere(phone, points, max(0, here - points))
    return op


def ask(txn: WriteTxn, phone_text: str, *, points: int, actor: str, of: str = HUB) -> Op:
    """Ask holder `of` to give this replica up to `points` of the member's allowance. A
    node asks the hub; the hub asks a node (a recall)."""
    phone = normalise_phone(phone_text)
    origin = txn.store.origin
    if of == origin:
        raise BusinessRuleError("a holder cannot ask itself", message_zh="不能向自己申请额度")
    if origin != HUB and of != HUB:
        raise BusinessRuleError(
            "a store asks HQ for points allowance, not another store",
            message_zh="门店只能向总部申请积分额度",
        )
    check_points(points, 1)
    return txn.append(ALLOWANCE_ASKED.name, {"phone": phone, "of": of, "points": points}, actor)


def answer_asks(txn: WriteTxn, *, actor: str) -> list[Op]:
    """At a node: answer every ask the hub made of this node that is still open, giving
    what is asked as far as the allowance holds (0: "none here"). Run after ops from
    the hub were applied."""
    if txn.store.origin == HUB:
        raise BusinessRuleError(
            "the hub answers stores' asks by rebalancing", message_zh="总部通过调拨统一处理申请"
        )
    written = []
    for a in open_asks(txn.conn, txn.store.origin):
        here = max(0, allowance(txn.conn, a.phone, txn.store.origin))
        written.append(
            give(txn, a.phone, to=a.origin, points=min(a.points, here), actor=actor, answers=a)
        )
    return written


def rebalance(
    txn: WriteTxn, *, actor: str, now_ms: int | None = None, wait_ms: int = RECALL_WAIT_MS
) -> list[Op]:
    """At the hub: grant the stores' open asks from the hub's allowance, and recall from
    other stores what it lacks (`rules.plan_rebalance`). Run after ops from stores were
    applied, and now and then (a recall's wait runs out)."""
    if txn.store.origin != HUB:
        raise HubOnly("rebalance points allowance", "调拨积分额度")
    conn = txn.conn
    waiting = open_asks(conn, HUB)
    if not waiting:
        return []
    phones = {a.phone for a in waiting}
    recalls = [a for a in open_asks_by(conn, HUB) if a.phone in phones]
    grants, new_recalls = plan_rebalance(
        waiting,
        allowances(conn, phones),
        recalls,
        now_ms=system_ms() if now_ms is None else now_ms,
        wait_ms=wait_ms,
    )
    written = [
        give(txn, g.ask.phone, to=g.ask.origin, points=g.points, actor=actor, answers=g.ask)
        for g in grants
    ]
    written += [ask(txn, r.phone, points=r.points, of=r.of, actor=actor) for r in new_recalls]
    return written


def set_rules(txn: WriteTxn, rules: PointsRules, *, actor: str) -> Op:
    """At the hub: the points rules every counter applies from when the op reaches it."""
    if txn.store.origin != HUB:
        raise HubOnly("set the points rules", "设置积分规则")
    return txn.append(RULES_SET.name, {"rules": rules.model_dump(mode="json")}, actor)


def refresh_tiers(txn: WriteTxn, *, actor: str, now_ms: int | None = None) -> list[Op]:
    """At the hub, which holds every store's earnings: write the tier the rules give each
    member whose tier changed (up, or down as the 12 months roll on)."""
    if txn.store.origin != HUB:
        raise HubOnly("set members' tiers", "设置会员等级")
    conn, now = txn.conn, system_ms() if now_ms is None else now_ms
    rules = points_rules(conn)
    phones = sorted(
        set(conn.execute(select(member_fields.c.phone).distinct()).scalars())
        | set(conn.execute(select(member_enrolments.c.phone)).scalars())
    )
    written = []
    for phone in phones:
        tier = tier_for(earned_on_basis(earnings(conn, phone), now, rules.basis), rules).name
        member = member_by_phone(conn, phone)
        if member is not None and member.tier != tier:
            body = {"phone": phone, "fields": {"tier": tier}}
            written.append(txn.append(PROFILE_SET.name, body, actor))
    return written
