"""Fold member ops into the member tables: fields by last-writer-wins (`tier` from the
hub only), the earliest enrolment by stamp, points facts once per (origin, entry, ref)
(the first by seq: the store folds an origin's ops in seq order), moves and asks once
per op, the rules from the hub only. Every order and duplication of the same ops gives
the same tables."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import Connection, and_, or_

from domain.members.kinds import (
    ALLOWANCE_ASKED,
    ALLOWANCE_MOVED,
    ENROLLED,
    PROFILE_SET,
    RULES_SET,
)
from domain.members.rules import counted_fields, entry_effect, entry_key
from domain.members.tables import member_allowance_asks as asks
from domain.members.tables import member_allowance_moves as moves
from domain.members.tables import member_enrolments as me
from domain.members.tables import member_fields as mf
from domain.members.tables import member_points as mp
from domain.members.tables import member_rules as mr
from domain.registers import fold_registers
from sync_protocol.ops import Op, canonical_json
from sync_protocol.origins import HUB
from sync_protocol.store.dialect import insert_for

RULES_SCOPE = "points"


def apply(conn: Connection, ops: Sequence[Op]) -> None:
    profiles = [op for op in ops if op.kind in (ENROLLED.name, PROFILE_SET.name)]
    _fold_fields(conn, profiles)
    _fold_enrolments(conn, [op for op in profiles if op.kind == ENROLLED.name])
    _fold_points(conn, ops)
    _fold_moves(conn, [op for op in ops if op.kind == ALLOWANCE_MOVED.name])
    _fold_asks(conn, [op for op in ops if op.kind == ALLOWANCE_ASKED.name])
    _fold_rules(conn, [op for op in ops if op.kind == RULES_SET.name and op.origin == HUB])


def _fold_rules(conn: Connection, ops: Sequence[Op]) -> None:
    # Kept in canonical key order, whatever order the writer's dict had: a rebuild
    # (from the stored, canonical body) gives the same row as the live fold.
    writes = (
        (RULES_SCOPE, {"rules": json.loads(canonical_json(op.body["rules"]))}, (op.hlc, op.origin))
        for op in ops
    )
    fold_registers(conn, mr, "scope", writes)


def _fold_fields(conn: Connection, ops: Sequence[Op]) -> None:
    writes = ((str(op.body["phone"]), counted_fields(op), (op.hlc, op.origin)) for op in ops)
    fold_registers(conn, mf, "phone", writes)


def _fold_enrolments(conn: Connection, ops: Sequence[Op]) -> None:
    first: dict[str, Op] = {}
    for op in ops:
        phone = str(op.body["phone"])
        if phone not in first or (op.hlc, op.origin) < (first[phone].hlc, first[phone].origin):
            first[phone] = op
    if not first:
        return
    stmt = insert_for(conn.dialect.name, me)
    stmt = stmt.on_conflict_do_update(
        index_elements=["phone"],
        set_={
            "hlc": stmt.excluded.hlc,
            "origin": stmt.excluded.origin,
            "location": stmt.excluded.location,
        },
        where=or_(
            stmt.excluded.hlc < me.c.hlc,
            and_(stmt.excluded.hlc == me.c.hlc, stmt.excluded.origin < me.c.origin),
        ),
    )
    rows = [
        {"phone": p, "hlc": op.hlc, "origin": op.origin, "location": op.body["location"]}
        for p, op in sorted(first.items())
    ]
    conn.execute(stmt, rows)


def _fold_points(conn: Connection, ops: Sequence[Op]) -> None:
    first: dict[tuple[str, str, str], Op] = {}
    for op in ops:
        key = entry_key(op)
        if key is not None and (key not in first or op.seq < first[key].seq):
            first[key] = op
    if not first:
        return
    rows = []
    for (origin, entry, ref), op in sorted(first.items()):
        effect, b = entry_effect(op), op.body
        rows.append(
            {
                "origin": origin,
                "entry": entry,
                "ref": ref,
                "seq": op.seq,
                "phone": b["phone"],
                "sale_id": b["sale_id"],
                "location": b["location"],
                "delta": effect.delta,
                "earned": effect.earned,
                "redeemed": effect.redeemed,
                "shortfall": effect.shortfall,
                "fen": int(b.get("amount_fen", b.get("value_fen", 0))),
                "hlc": op.hlc,
            }
        )
    stmt = insert_for(conn.dialect.name, mp).on_conflict_do_nothing(
        index_elements=["origin", "entry", "ref"]
    )
    conn.execute(stmt, rows)


def _fold_moves(conn: Connection, ops: Sequence[Op]) -> None:
    if not ops:
        return
    rows = []
    for op in ops:
        answers = op.body.get("answers") or {}
        rows.append(
            {
                "origin": op.origin,
                "seq": op.seq,
                "phone": op.body["phone"],
                "to_holder": op.body["to"],
                "points": int(op.body["points"]),
                "answers_origin": answers.get("origin"),
                "answers_seq": answers.get("seq"),
                "hlc": op.hlc,
            }
        )
    stmt = insert_for(conn.dialect.name, moves).on_conflict_do_nothing(
        index_elements=["origin", "seq"]
    )
    conn.execute(stmt, rows)


def _fold_asks(conn: Connection, ops: Sequence[Op]) -> None:
    if not ops:
        return
    rows = [
        {
            "origin": op.origin,
            "seq": op.seq,
            "phone": op.body["phone"],
            "of_holder": op.body["of"],
            "points": int(op.body["points"]),
            "hlc": op.hlc,
        }
        for op in ops
    ]
    stmt = insert_for(conn.dialect.name, asks).on_conflict_do_nothing(
        index_elements=["origin", "seq"]
    )
    conn.execute(stmt, rows)
