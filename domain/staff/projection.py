"""Fold staff ops into the staff tables: account fields by last-writer-wins (hub writes
only), wrong PINs as a set of facts, and per account the greatest reset stamp; every
order and duplication of the same ops gives the same tables."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from domain.registers import fold_registers
from domain.staff.kinds import MEMBER_SET, PIN_ACCEPTED, PIN_FAILED, UNLOCKED
from domain.staff.tables import staff_fields as sf
from domain.staff.tables import staff_pin_failures as spf
from domain.staff.tables import staff_resets as sr
from sync_protocol.ops import Op
from sync_protocol.origins import HUB
from sync_protocol.store.dialect import insert_for


def apply(conn: Connection, ops: Sequence[Op]) -> None:
    _fold_accounts(conn, [op for op in ops if op.kind == MEMBER_SET.name and op.origin == HUB])
    _fold_failures(conn, [op for op in ops if op.kind == PIN_FAILED.name])
    _fold_resets(conn, [op for op in ops if op.kind in (PIN_ACCEPTED.name, UNLOCKED.name)])


def _fold_accounts(conn: Connection, ops: Sequence[Op]) -> None:
    writes = ((str(op.body["staff_id"]), op.body["fields"], (op.hlc, op.origin)) for op in ops)
    fold_registers(conn, sf, "staff_id", writes)


def _fold_failures(conn: Connection, ops: Sequence[Op]) -> None:
    if not ops:
        return
    rows = [
        {"origin": op.origin, "seq": op.seq, "staff_id": op.body["staff_id"], "hlc": op.hlc}
        for op in ops
    ]
    stmt = insert_for(conn.dialect.name, spf).on_conflict_do_nothing(
        index_elements=["origin", "seq"]
    )
    conn.execute(stmt, rows)


def _fold_resets(conn: Connection, ops: Sequence[Op]) -> None:
    latest: dict[str, int] = {}
    for op in ops:
        sid = str(op.body["staff_id"])
        latest[sid] = max(latest.get(sid, 0), op.hlc)
    if not latest:
        return
    stmt = insert_for(conn.dialect.name, sr)
    stmt = stmt.on_conflict_do_update(
        index_elements=["staff_id"],
        set_={"hlc": stmt.excluded.hlc},
        where=stmt.excluded.hlc > sr.c.hlc,
    )
    conn.execute(stmt, [{"staff_id": s, "hlc": h} for s, h in sorted(latest.items())])
