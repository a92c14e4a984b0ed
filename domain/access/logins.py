"""Recording logins and logouts as ops (the audit trail's part of access)."""

from __future__ import annotations

import re
from typing import Final

from domain.access.kinds import LOGGED_OUT, USER_LOGIN
from sync_protocol.store import ReplicaStore

_TYPED: Final = re.compile(r"[^0-9A-Za-z._@-]")


UNKNOWN_USER: Final = "(unknown)"


def record_user_login(store: ReplicaStore, username: str, *, ok: bool, known: bool) -> None:
    """A console login try. The actor of a failed one is the name typed (cleaned, cut to
    64) when it names a user: who the console was told it was; a name that names none is
    recorded as UNKNOWN_USER (a password typed into the name field must not be kept)."""
    typed = _TYPED.sub("?", username.strip().lower())[:64] if known else UNKNOWN_USER
    with store.write() as txn:
        txn.append(USER_LOGIN.name, {"username": typed, "ok": ok}, f"user:{typed}")


def record_logout(store: ReplicaStore, actor: str) -> None:
    with store.write() as txn:
        txn.append(LOGGED_OUT.name, {"location": store.origin}, actor)
