"""PINs and their hashes: Argon2id through `pwdlib` (a kept library). A node holds
hashes only, replicated from the hub, so a node offline for days still checks its
staff's PINs; the PIN itself is never stored, logged or sent.

Parameters: OWASP's minimum for Argon2id (19 MiB, 2 passes, 1 lane), not the library's
default (64 MiB, 4 lanes): a till's Pi has 150 MiB for the node, the device agent and
Mosquitto together, and a login must not take a quarter of it. A 6-digit PIN has only a
million values, so no parameters would stop an offline search of a stolen hash for
long: what protects a PIN is the lock-out at the till (`domain.staff.rules`) and the
ledger's file permissions, and the hash keeps the PIN out of every backup and log."""

from __future__ import annotations

import itertools
import re
from functools import cache
from typing import Final

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from domain.errors import BusinessRuleError

PIN_MIN_DIGITS: Final = 6
PIN_MAX_DIGITS: Final = 12
_PIN = re.compile(rf"^[0-9]{{{PIN_MIN_DIGITS},{PIN_MAX_DIGITS}}}$")


class WeakPin(BusinessRuleError):
    """A PIN too short, not all digits, or among the first guesses anyone tries."""


@cache
def _hasher() -> PasswordHash:
    return PasswordHash((Argon2Hasher(time_cost=2, memory_cost=19 * 1024, parallelism=1),))


def check_pin_rules(pin: str) -> None:
    """A PIN is 6–12 digits and not one digit repeated or a run (123456, 654321):
    the first guesses anyone tries at a till."""
    if not _PIN.fullmatch(pin):
        raise WeakPin(
            f"a PIN is {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits",
            message_zh=f"PIN 须为 {PIN_MIN_DIGITS} 至 {PIN_MAX_DIGITS} 位数字",
        )
    steps = {int(b) - int(a) for a, b in itertools.pairwise(pin)}
    if len(steps) == 1 and steps <= {-1, 0, 1}:
        raise WeakPin(
            "a PIN may not be one digit repeated or a run of digits",
            message_zh="PIN 不能是重复数字或连续数字",
        )


def hash_pin(pin: str) -> str:
    """The Argon2id hash (PHC string) of a PIN that keeps the rules."""
    check_pin_rules(pin)
    return _hasher().hash(pin)


def pin_matches(pin: str, pin_hash: str) -> bool:
    """Whether `pin` is the one `pin_hash` was made from (constant time in Argon2)."""
    try:
        return bool(_hasher().verify(pin, pin_hash))
    except Exception:  # a malformed hash is no match, never a crash at the till
        return False
