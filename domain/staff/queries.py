"""Reads of the staff tables: one account, every account, an account's login gate."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, select

from domain.staff.rules import LoginGate, login_gate
from domain.staff.tables import staff_fields as sf
from domain.staff.tables import staff_pin_failures as spf
from domain.staff.tables import staff_resets as sr


@dataclass(frozen=True)
class StaffAccount:
    staff_id: str
    name: str
    role: str
    pin_hash: str | None
    active: bool

    @property
    def can_log_in(self) -> bool:
        return self.active and self.pin_hash is not None


def staff_account(conn: Connection, staff_id: str) -> StaffAccount | None:
    """The account as the hub last set it, or None if it was never created."""
    fields = {
        str(r.field): json.loads(r.value)
        for r in conn.execute(select(sf.c.field, sf.c.value).where(sf.c.staff_id == staff_id))
    }
    return _account(staff_id, fields) if fields else None


def staff_accounts(conn: Connection) -> list[StaffAccount]:
    """Every account, by staff id."""
    by_id: dict[str, dict[str, object]] = {}
    for r in conn.execute(select(sf.c.staff_id, sf.c.field, sf.c.value).order_by(sf.c.staff_id)):
        by_id.setdefault(str(r.staff_id), {})[str(r.field)] = json.loads(r.value)
    return [_account(sid, fields) for sid, fields in by_id.items()]


def gate_of(conn: Connection, staff_id: str) -> LoginGate:
    """Whether `staff_id`'s PIN may be tried now (back-off, lock-out)."""
    reset = conn.execute(select(sr.c.hlc).where(sr.c.staff_id == staff_id)).scalar() or 0
    stamps = conn.execute(
        select(spf.c.hlc).where(spf.c.staff_id == staff_id, spf.c.hlc > reset)
    ).scalars()
    return login_gate((int(s) for s in stamps), int(reset))


def _account(staff_id: str, fields: dict[str, object]) -> StaffAccount:
    pin_hash = fields.get("pin_hash")
    return StaffAccount(
        staff_id=staff_id,
        name=str(fields.get("name") or staff_id),
        # An account the hub has not given a role to yet may do nothing a role allows.
        role=str(fields.get("role") or ""),
        pin_hash=str(pin_hash) if pin_hash else None,
        active=fields.get("active") is not False,
    )
