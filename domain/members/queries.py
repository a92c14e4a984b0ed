"""Reads of the member tables inside a caller's transaction: a member by phone, their
balance and each holder's allowance, their last visits, the tier a counter applies,
the points rules, and the asks still waiting for an answer.

What a replica answers is what the ops it holds say. The hub holds every store's ops,
so its balance is the member's; a node holds the hub's ops and its own, so its balance
leaves out the other stores' facts, and its own allowance (`allowance(conn, phone,
node)`) is exact: only that node ever lowers it (docs/points.md)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, and_, case, func, select

from domain.members.config import DEFAULT_RULES, PointsRules, TierRule, rules_from_replicated
from domain.members.projection import RULES_SCOPE
from domain.members.rules import Ask, Earning, earned_on_basis, effective_tier
from domain.members.tables import member_allowance_asks as asks
from domain.members.tables import member_allowance_moves as moves
from domain.members.tables import member_enrolments as me
from domain.members.tables import member_fields as mf
from domain.members.tables import member_points as mp
from domain.members.tables import member_rules as mr
from sync_protocol.hlc import wall_ms_of


@dataclass(frozen=True)
class Member:
    phone: str
    name: str | None
    tier: str | None  # as the hub set it; `member_tier` is what a counter applies
    enrolled_ms: int | None  # the earliest enrolment this replica holds
    enrolled_at: str | None  # where


@dataclass(frozen=True)
class Visit:
    """A sale at which the member earned or redeemed points (net of its returns)."""

    at_ms: int
    location: str
    origin: str
    sale_id: str
    earned: int
    redeemed: int


@dataclass(frozen=True)
class SalePoints:
    """What one sale of an origin earned and redeemed, net of its returns so far."""

    earned: int
    redeemed: int


@dataclass(frozen=True)
class Entry:
    """A points fact as recorded: for retries."""

    origin: str
    entry: str
    ref: str
    seq: int
    phone: str
    sale_id: str
    delta: int
    earned: int
    redeemed: int
    shortfall: int
    fen: int


def member_by_phone(conn: Connection, phone: str) -> Member | None:
    """The member with this E.164 phone, or None if this replica knows of none."""
    fields = {
        str(r.field): json.loads(r.value)
        for r in conn.execute(select(mf.c.field, mf.c.value).where(mf.c.phone == phone))
    }
    enrolment = conn.execute(select(me.c.hlc, me.c.location).where(me.c.phone == phone)).first()
    if not fields and enrolment is None:
        return None
    name, tier = fields.get("name"), fields.get("tier")
    return Member(
        phone=phone,
        name=str(name) if name else None,
        tier=str(tier) if tier else None,
        enrolled_ms=wall_ms_of(int(enrolment.hlc)) if enrolment is not None else None,
        enrolled_at=str(enrolment.location) if enrolment is not None else None,
    )


def balance(conn: Connection, phone: str) -> int:
    """Earned − redeemed ± reversals, over the facts this replica holds."""
    total = conn.execute(select(func.coalesce(func.sum(mp.c.delta), 0)).where(mp.c.phone == phone))
    return int(total.scalar_one())


def allowance(conn: Connection, phone: str, holder: str) -> int:
    """What `holder` may spend of `phone`'s points, as this replica knows it: its own
    facts, plus what was given to it, minus what it gave."""
    own = conn.execute(
        select(func.coalesce(func.sum(mp.c.delta), 0)).where(
            mp.c.phone == phone, mp.c.origin == holder
        )
    ).scalar_one()
    given = conn.execute(
        select(func.coalesce(func.sum(moves.c.points), 0)).where(
            moves.c.phone == phone, moves.c.origin == holder
        )
    ).scalar_one()
    got = conn.execute(
        select(func.coalesce(func.sum(moves.c.points), 0)).where(
            moves.c.phone == phone, moves.c.to_holder == holder
        )
    ).scalar_one()
    return int(own) - int(given) + int(got)


def allowances(conn: Connection, phones: Iterable[str]) -> dict[tuple[str, str], int]:
    """Every holder's allowance of each of `phones`, by (phone, holder); holders with
    none are left out."""
    wanted = sorted(set(phones))
    out: dict[tuple[str, str], int] = {}
    if not wanted:
        return out
    parts = [
        select(mp.c.phone, mp.c.origin, func.sum(mp.c.delta))
        .where(mp.c.phone.in_(wanted))
        .group_by(mp.c.phone, mp.c.origin),
        select(moves.c.phone, moves.c.origin, -func.sum(moves.c.points))
        .where(moves.c.phone.in_(wanted))
        .group_by(moves.c.phone, moves.c.origin),
        select(moves.c.phone, moves.c.to_holder, func.sum(moves.c.points))
        .where(moves.c.phone.in_(wanted))
        .group_by(moves.c.phone, moves.c.to_holder),
    ]
    for stmt in parts:
        for phone, holder, points in conn.execute(stmt):
            key = (str(phone), str(holder))
            out[key] = out.get(key, 0) + int(points)
    return {k: v for k, v in sorted(out.items()) if v != 0}


def overdrawn(conn: Connection) -> list[tuple[str, str, int]]:
    """(phone, holder, allowance) of every allowance below zero: an anomaly (a node
    that spent what it did not hold, which no honest node's writes can do)."""
    phones = conn.execute(select(mp.c.phone).distinct()).scalars()
    return [(p, h, n) for (p, h), n in allowances(conn, phones).items() if n < 0]


def last_visits(conn: Connection, phone: str, limit: int = 5) -> list[Visit]:
    """The member's latest sales with points earned or redeemed (newest first): when,
    where, and the points net of returns."""
    at = func.min(case((mp.c.entry != "reversed", mp.c.hlc)))
    rows = conn.execute(
        select(
            mp.c.origin,
            mp.c.sale_id,
            at.label("at"),
            func.min(case((mp.c.entry != "reversed", mp.c.location))).label("location"),
            func.sum(mp.c.earned).label("earned"),
            func.sum(mp.c.redeemed).label("redeemed"),
        )
        .where(mp.c.phone == phone)
        .group_by(mp.c.origin, mp.c.sale_id)
        .having(at.is_not(None))
        .order_by(at.desc(), mp.c.origin, mp.c.sale_id)
        .limit(limit)
    )
    return [
        Visit(
            at_ms=wall_ms_of(int(r.at)),
            location=str(r.location),
            origin=str(r.origin),
            sale_id=str(r.sale_id),
            earned=int(r.earned),
            redeemed=int(r.redeemed),
        )
        for r in rows
    ]


def earnings(conn: Connection, phone: str) -> list[Earning]:
    """What each of the member's sales earned, net of its returns, when it earned."""
    at = func.min(case((mp.c.entry == "earned", mp.c.hlc)))
    rows = conn.execute(
        select(at.label("at"), func.sum(mp.c.earned).label("earned"))
        .where(mp.c.phone == phone)
        .group_by(mp.c.origin, mp.c.sale_id)
        .having(at.is_not(None))
        .order_by(at)
    )
    return [Earning(wall_ms_of(int(r.at)), int(r.earned)) for r in rows]


def member_tier(conn: Connection, phone: str, rules: PointsRules, now_ms: int) -> TierRule:
    """The tier a counter applies now: the hub's word, or higher if the earnings held
    here prove it (`rules.effective_tier`)."""
    member = member_by_phone(conn, phone)
    proven = earned_on_basis(earnings(conn, phone), now_ms, rules.basis)
    return effective_tier(rules, member.tier if member else None, proven)


def points_rules(conn: Connection) -> PointsRules:
    """The points rules the hub last set, or `DEFAULT_RULES` before it set any."""
    value = conn.execute(
        select(mr.c.value).where(mr.c.scope == RULES_SCOPE, mr.c.field == "rules")
    ).scalar()
    if value is None:
        return DEFAULT_RULES
    return rules_from_replicated(json.loads(value))


def sale_points(conn: Connection, origin: str, sale_id: str, phone: str) -> SalePoints:
    """What `origin`'s sale `sale_id` earned and redeemed for `phone`, net of its returns
    so far."""
    row = conn.execute(
        select(
            func.coalesce(func.sum(mp.c.earned), 0), func.coalesce(func.sum(mp.c.redeemed), 0)
        ).where(mp.c.origin == origin, mp.c.sale_id == sale_id, mp.c.phone == phone)
    ).one()
    return SalePoints(int(row[0]), int(row[1]))


def recorded_entry(conn: Connection, origin: str, entry: str, ref: str) -> Entry | None:
    """The points fact `origin` recorded as `entry` under `ref`, or None."""
    row = conn.execute(
        select(mp).where(mp.c.origin == origin, mp.c.entry == entry, mp.c.ref == ref)
    ).first()
    if row is None:
        return None
    return Entry(
        origin=str(row.origin),
        entry=str(row.entry),
        ref=str(row.ref),
        seq=int(row.seq),
        phone=str(row.phone),
        sale_id=str(row.sale_id),
        delta=int(row.delta),
        earned=int(row.earned),
        redeemed=int(row.redeemed),
        shortfall=int(row.shortfall),
        fen=int(row.fen),
    )


def open_asks(conn: Connection, of: str) -> list[Ask]:
    """Asks made of `of` that `of` has not answered (by a move naming the ask), oldest
    first."""
    answer = moves.alias("answer")
    rows = conn.execute(
        select(asks)
        .outerjoin(
            answer,
            and_(
                answer.c.answers_origin == asks.c.origin,
                answer.c.answers_seq == asks.c.seq,
                answer.c.origin == asks.c.of_holder,
            ),
        )
        .where(asks.c.of_holder == of, answer.c.origin.is_(None))
        .order_by(asks.c.hlc, asks.c.origin, asks.c.seq)
    )
    return [
        Ask(
            origin=str(r.origin),
            seq=int(r.seq),
            phone=str(r.phone),
            of=str(r.of_holder),
            points=int(r.points),
            at_ms=wall_ms_of(int(r.hlc)),
        )
        for r in rows
    ]


def open_asks_by(conn: Connection, origin: str) -> list[Ask]:
    """Asks `origin` made that are still unanswered, oldest first."""
    holders = conn.execute(
        select(asks.c.of_holder).where(asks.c.origin == origin).distinct()
    ).scalars()
    return sorted(
        (a for holder in holders for a in open_asks(conn, str(holder)) if a.origin == origin),
        key=lambda a: (a.at_ms, a.seq),
    )
