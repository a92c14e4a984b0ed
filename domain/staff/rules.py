"""Pure staff rules: an account's current fields, and whether its PIN may be tried now.

**Back-off and lock-out.** Wrong PINs count from the latest reset of that account (a
right PIN or a supervisor's unlock, at any node), by hybrid-clock stamp, so every
replica that holds the same ops reaches the same verdict whatever order they arrived
in. From the 5th wrong PIN on, the next try waits (30 s, doubling, at most 15 min); at
the 20th the account is locked until a supervisor unlocks it. While two stores are cut
off from each other each counts only the tries it saw, so a guesser gets at most 20
tries per store per partition: accepted, because a till must log its staff in offline.

**Who may write an account.** Only the hub's writes of `staff.member_set` count: a node
signs its own ops, and one that wrote itself a manager account must get nothing for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from domain.staff.kinds import MEMBER_SET, PIN_ACCEPTED, PIN_FAILED, UNLOCKED
from sync_protocol.hlc import wall_ms_of
from sync_protocol.merge import RegisterValue, lww_assign, stamp_of, unique
from sync_protocol.ops import Op
from sync_protocol.origins import HUB

BACKOFF_AFTER: Final = 5
LOCK_AFTER: Final = 20
BACKOFF_FIRST_MS: Final = 30_000
BACKOFF_MAX_MS: Final = 15 * 60_000


@dataclass(frozen=True)
class LoginGate:
    """What the next PIN try for one account meets."""

    failures: int  # wrong PINs since the latest reset
    locked: bool  # until a supervisor unlocks
    retry_at_ms: int | None  # wall ms before which a try is refused (back-off), if any

    def open_at(self, now_ms: int) -> bool:
        return not self.locked and (self.retry_at_ms is None or now_ms >= self.retry_at_ms)

    def wait_ms(self, now_ms: int) -> int:
        return 0 if self.retry_at_ms is None else max(0, self.retry_at_ms - now_ms)


def backoff_ms(failures: int) -> int:
    """How long the try after the `failures`-th wrong PIN waits."""
    if failures < BACKOFF_AFTER:
        return 0
    return min(BACKOFF_FIRST_MS << min(failures - BACKOFF_AFTER, 16), BACKOFF_MAX_MS)


def login_gate(failure_stamps: Iterable[int], reset_stamp: int) -> LoginGate:
    """The gate given the stamps of an account's wrong PINs and of its latest reset."""
    counted = sorted(s for s in failure_stamps if s > reset_stamp)
    n = len(counted)
    if n >= LOCK_AFTER:
        return LoginGate(n, locked=True, retry_at_ms=None)
    wait = backoff_ms(n)
    retry_at = wall_ms_of(counted[-1]) + wait if wait else None
    return LoginGate(n, locked=False, retry_at_ms=retry_at)


def staff_accounts(ops: Iterable[Op]) -> dict[str, dict[str, Any]]:
    """Fold the hub's `staff.member_set` writes to each account's current fields."""
    accounts: dict[str, dict[str, RegisterValue]] = {}
    for op in unique(ops):
        if op.kind != MEMBER_SET.name or op.origin != HUB:
            continue
        sid = str(op.body["staff_id"])
        accounts[sid] = lww_assign(accounts.get(sid, {}), op.body["fields"], stamp_of(op))
    return {sid: {k: rv.value for k, rv in f.items()} for sid, f in accounts.items()}


def login_gates(ops: Iterable[Op]) -> dict[str, LoginGate]:
    """Fold PIN checks and unlocks to each account's gate (the projection's oracle)."""
    failures: dict[str, list[int]] = {}
    resets: dict[str, int] = {}
    for op in unique(ops):
        sid = str(op.body.get("staff_id", ""))
        if op.kind == PIN_FAILED.name:
            failures.setdefault(sid, []).append(op.hlc)
        elif op.kind in (PIN_ACCEPTED.name, UNLOCKED.name):
            resets[sid] = max(resets.get(sid, 0), op.hlc)
    return {
        sid: login_gate(failures.get(sid, ()), resets.get(sid, 0))
        for sid in failures.keys() | resets.keys()
    }
