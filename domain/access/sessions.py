"""Browser sessions: a random id given to the browser in an HttpOnly cookie (only its
SHA-256 is stored), a CSRF token tied to it, an idle timeout and an absolute expiry.
A login always opens a new session (the id changes at login); a logout, a password
change or a deactivation ends it."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Engine, Executable, delete, select, update
from sqlalchemy.exc import OperationalError

from domain.access.tables import access_sessions

log = logging.getLogger(__name__)

IDLE_MS: Final = 2 * 3600 * 1000  # a console left alone for two hours asks again
MAX_MS: Final = 12 * 3600 * 1000  # a working day, whatever the activity


@dataclass(frozen=True)
class Session:
    principal: str
    csrf_token: str
    expires_ms: int

    def csrf_ok(self, offered: str | None) -> bool:
        return offered is not None and hmac.compare_digest(offered, self.csrf_token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(
    engine: Engine, principal: str, *, now_ms: int, idle_ms: int = IDLE_MS, max_ms: int = MAX_MS
) -> tuple[str, Session]:
    """(the cookie value, the session) for a principal who has just logged in."""
    token = secrets.token_urlsafe(32)
    session = Session(principal, secrets.token_urlsafe(32), now_ms + max_ms)
    with engine.begin() as conn:
        conn.execute(
            access_sessions.insert(),
            {
                "token_hash": token_digest(token),
                "principal": principal,
                "csrf_token": session.csrf_token,
                "created_ms": now_ms,
                "expires_ms": session.expires_ms,
                "idle_until_ms": now_ms + idle_ms,
            },
        )
    return token, session


def session_of(
    engine: Engine, token: str | None, *, now_ms: int, idle_ms: int = IDLE_MS
) -> Session | None:
    """The live session a cookie names (its idle timeout moved on), or None: unknown,
    expired or idle too long. Reads only, except once per half idle period of use (and
    to forget a dead session): every page view must not be a write."""
    if not token:
        return None
    s = access_sessions
    digest = token_digest(token)
    with engine.connect() as conn:
        row = conn.execute(
            select(s.c.principal, s.c.csrf_token, s.c.expires_ms, s.c.idle_until_ms).where(
                s.c.token_hash == digest
            )
        ).first()
    if row is None:
        return None
    if now_ms >= row.expires_ms or now_ms >= row.idle_until_ms:
        best_effort(engine, delete(s).where(s.c.token_hash == digest))
        return None
    if row.idle_until_ms - now_ms <= idle_ms // 2:
        best_effort(
            engine, update(s).where(s.c.token_hash == digest).values(idle_until_ms=now_ms + idle_ms)
        )
    return Session(str(row.principal), str(row.csrf_token), int(row.expires_ms))


def best_effort(engine: Engine, statement: Executable) -> None:
    """A bookkeeping write (a session's idle clock, a token's last use) that must not
    fail the request it rides on: on a full disk or a busy database it is skipped (the
    session then ends at its old idle time; the last use shows older)."""
    try:
        with engine.begin() as conn:
            conn.execute(statement)
    except OperationalError as exc:
        log.warning("access bookkeeping skipped: %s", exc.orig)


def close_session(engine: Engine, token: str | None) -> None:
    if token:
        with engine.begin() as conn:
            conn.execute(
                delete(access_sessions).where(access_sessions.c.token_hash == token_digest(token))
            )


def close_sessions_of(engine: Engine, principal: str) -> None:
    """End every session of `principal` (a password change, a deactivation)."""
    with engine.begin() as conn:
        conn.execute(delete(access_sessions).where(access_sessions.c.principal == principal))
