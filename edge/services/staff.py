"""PIN checks at a node: log a staff member in, let a supervisor authorise one action
or unlock a colleague. Every check is written as an op (the audit trail, and what
back-off and lock-out are counted from on every replica); none waits on the network.

A wrong staff id and a wrong PIN get the same answer, and an unknown id still costs one
Argon2 verification, so the till tells a guesser nothing about which ids exist."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from domain.errors import BusinessRuleError
from domain.staff.kinds import (
    AUTHORISERS,
    LOCKED_OUT,
    PIN_ACCEPTED,
    PIN_FAILED,
    UNKNOWN_STAFF,
    UNLOCKED,
    is_staff_id,
)
from domain.staff.pins import hash_pin, pin_matches
from domain.staff.queries import StaffAccount, gate_of, staff_account
from domain.staff.rules import LOCK_AFTER
from sync_protocol.hlc import system_ms
from sync_protocol.store import ReplicaStore


class PinRefused(BusinessRuleError):
    """Wrong staff id or PIN; the try was recorded."""


class PinBackoff(BusinessRuleError):
    """Too many wrong PINs: wait before the next try (nothing was checked)."""

    def __init__(self, wait_ms: int) -> None:
        seconds = max(1, -(-wait_ms // 1000))
        super().__init__(
            f"too many wrong PINs: try again in {seconds} s",
            message_zh=f"PIN 错误次数过多，请 {seconds} 秒后再试",
        )
        self.wait_ms = wait_ms


class StaffLocked(BusinessRuleError):
    """20 wrong PINs: only a supervisor's unlock lets this account try again."""

    def __init__(self, staff_id: str) -> None:
        super().__init__(
            f"{staff_id} is locked after too many wrong PINs: a supervisor must unlock it",
            message_zh=f"{staff_id} 因 PIN 错误次数过多已锁定，须由主管解锁",
        )


class NotAnAuthoriser(BusinessRuleError):
    """The PIN was right but its owner may not authorise (not a supervisor/manager)."""


@dataclass(frozen=True)
class LoggedIn:
    staff_id: str
    name: str
    role: str


def log_in(ledger: ReplicaStore, staff_id: str, pin: str, *, now_ms: int | None = None) -> LoggedIn:
    """Check `pin` for `staff_id` at this node and record the try. Raises PinBackoff or
    StaffLocked before checking anything, PinRefused on a wrong id or PIN."""
    account = _checked(ledger, staff_id, pin, system_ms() if now_ms is None else now_ms)
    return LoggedIn(account.staff_id, account.name, account.role)


def authorise(
    ledger: ReplicaStore, supervisor_id: str, pin: str, *, now_ms: int | None = None
) -> LoggedIn:
    """A supervisor's PIN for one action at someone else's till (a void, a refund, a
    price override…): the same checks and record as a login, and the role must be one
    that may authorise. The cashier stays logged in; the caller records the action with
    the returned supervisor as its authoriser."""
    account = _checked(ledger, supervisor_id, pin, system_ms() if now_ms is None else now_ms)
    if account.role not in AUTHORISERS:
        raise NotAnAuthoriser(
            f"{account.staff_id} ({account.role}) may not authorise this",
            message_zh=f"{account.name} 无权授权此操作，请找主管或店长",
        )
    return LoggedIn(account.staff_id, account.name, account.role)


def unlock(
    ledger: ReplicaStore,
    staff_id: str,
    *,
    supervisor_id: str,
    supervisor_pin: str,
    now_ms: int | None = None,
) -> LoggedIn:
    """A supervisor, by their own PIN, lets a locked or backed-off colleague try again."""
    now = system_ms() if now_ms is None else now_ms
    supervisor = authorise(ledger, supervisor_id, supervisor_pin, now_ms=now)
    with ledger.write() as txn:
        txn.append(
            UNLOCKED.name,
            {"staff_id": staff_id, "location": ledger.origin, "by": supervisor.staff_id},
            supervisor.staff_id,
        )
    return supervisor


def _checked(ledger: ReplicaStore, staff_id: str, pin: str, now_ms: int) -> StaffAccount:
    if not is_staff_id(staff_id):  # cannot name an account, nor be recorded as one
        raise PinRefused("wrong staff id or PIN", message_zh="员工编号或 PIN 错误")
    with ledger.read() as conn:
        account = staff_account(conn, staff_id)
        gate = gate_of(conn, staff_id)
    if gate.locked:
        raise StaffLocked(staff_id)
    if not gate.open_at(now_ms):
        raise PinBackoff(gate.wait_ms(now_ms))
    usable = account if account is not None and account.can_log_in and account.role else None
    expected = usable.pin_hash if usable is not None and usable.pin_hash else _decoy_hash()
    matched = pin_matches(pin, expected)  # verified even for an unknown id: same cost
    kind = PIN_ACCEPTED if usable is not None and matched else PIN_FAILED
    # The actor of a failed try is the id typed (who the till was told it was) when it
    # names an account; an id that names none is recorded as UNKNOWN_STAFF, since a
    # hurried cashier types a PIN into the ID field and it must not end up in an op.
    named = staff_id if account is not None else UNKNOWN_STAFF
    body = {"staff_id": named, "location": ledger.origin}
    with ledger.write() as txn:
        txn.append(kind.name, body, named)
        if kind is PIN_FAILED and account is not None and gate.failures + 1 == LOCK_AFTER:
            txn.append(LOCKED_OUT.name, body, named)
    if usable is None or kind is PIN_FAILED:
        raise PinRefused("wrong staff id or PIN", message_zh="员工编号或 PIN 错误")
    return usable


@cache
def _decoy_hash() -> str:
    # Verified against when the id is unknown, so that costs what a real check costs.
    return hash_pin("907315")
