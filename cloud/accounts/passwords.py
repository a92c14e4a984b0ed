"""HQ passwords: Argon2id through `pwdlib` with its recommended parameters (the hub
runs on a server, not a Pi), and the few rules worth enforcing (NIST SP 800-63B: length,
not the username, no composition rules)."""

from __future__ import annotations

from functools import cache
from typing import Final

from pwdlib import PasswordHash

from domain.errors import BusinessRuleError

PASSWORD_MIN: Final = 10
PASSWORD_MAX: Final = 128


class WeakPassword(BusinessRuleError):
    """A password too short, too long, one character repeated, or the username."""


@cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def check_password_rules(password: str, *, username: str) -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise WeakPassword(
            f"a password is {PASSWORD_MIN} to {PASSWORD_MAX} characters",
            message_zh=f"密码须为 {PASSWORD_MIN} 至 {PASSWORD_MAX} 个字符",
        )
    if len(set(password)) == 1 or password.casefold() == username.casefold():
        raise WeakPassword(
            "a password may not be the username or one character repeated",
            message_zh="密码不能与用户名相同，也不能是同一字符重复",
        )


def hash_password(password: str, *, username: str) -> str:
    check_password_rules(password, username=username)
    return _hasher().hash(password)


def password_matches(password: str, password_hash: str) -> bool:
    try:
        return bool(_hasher().verify(password, password_hash))
    except Exception:  # a malformed hash matches nothing; never a 500 at the login page
        return False


@cache
def decoy_hash() -> str:
    """Verified against when the username is unknown, so that costs what a real check
    costs and the login page tells nobody which usernames exist."""
    return _hasher().hash("decoy password, never anyone's")
