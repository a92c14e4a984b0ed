"""Browser sessions at the hub: a random id given to the browser in an HttpOnly cookie
(only its SHA-256 is stored), a CSRF token tied to it, an idle timeout and an absolute
expiry. A login always opens a new session (the id changes at login), a logout or a
password change ends it."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Engine, delete, select, update

from cloud.accounts.tables import hub_sessions, hub_users
from cloud.accounts.users import User, user_from_row

IDLE_MS: Final = 2 * 3600 * 1000  # a console left alone for two hours asks again
MAX_MS: Final = 12 * 3600 * 1000  # a working day, whatever the activity


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    expires_ms: int

    def csrf_ok(self, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(offered, self.csrf_token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(engine: Engine, user: User, *, now_ms: int) -> tuple[str, Session]:
    """(the cookie value, the session) for a user who has just logged in."""
    token = secrets.token_urlsafe(32)
    session = Session(user, secrets.token_urlsafe(32), now_ms + MAX_MS)
    with engine.begin() as conn:
        conn.execute(
            hub_sessions.insert(),
            {
                "token_hash": token_digest(token),
                "user_id": user.user_id,
                "csrf_token": session.csrf_token,
                "created_ms": now_ms,
                "expires_ms": session.expires_ms,
                "idle_until_ms": now_ms + IDLE_MS,
            },
        )
    return token, session


def session_of(engine: Engine, token: str | None, *, now_ms: int) -> Session | None:
    """The live session a cookie names (its idle timeout moved on), or None: unknown,
    expired, idle too long, or its user deactivated."""
    if not token:
        return None
    s, u = hub_sessions, hub_users
    digest = token_digest(token)
    with engine.begin() as conn:
        row = conn.execute(
            select(s.c.csrf_token, s.c.expires_ms, s.c.idle_until_ms, u)
            .join(u, u.c.user_id == s.c.user_id)
            .where(s.c.token_hash == digest)
        ).first()
        if row is None:
            return None
        if now_ms >= row.expires_ms or now_ms >= row.idle_until_ms or not row.active:
            conn.execute(delete(s).where(s.c.token_hash == digest))
            return None
        if row.idle_until_ms - now_ms <= IDLE_MS // 2:  # one write per hour of use
            conn.execute(
                update(s).where(s.c.token_hash == digest).values(idle_until_ms=now_ms + IDLE_MS)
            )
    return Session(user_from_row(row), str(row.csrf_token), int(row.expires_ms))


def close_session(engine: Engine, token: str | None) -> None:
    if token:
        with engine.begin() as conn:
            conn.execute(
                delete(hub_sessions).where(hub_sessions.c.token_hash == token_digest(token))
            )
