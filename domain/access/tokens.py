"""API tokens for tills, scripts and integrations, sent as `Authorization: Bearer`.
Scoped, revocable, shown once when issued and stored as a SHA-256 digest; a revoked
token stops working at the next request (every request looks it up)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Engine, Row, select, update

from domain.access.sessions import best_effort, token_digest
from domain.access.tables import access_tokens
from domain.errors import BusinessRuleError, NotFound
from sync_protocol.ids import new_id

PREFIX: Final = "sft_"  # recognisable in a leaked config or a secret scanner
_LAST_USED_EVERY_MS: Final = 60_000


@dataclass(frozen=True)
class ApiToken:
    token_id: str
    label: str
    scopes: frozenset[str]
    created_by: str
    revoked: bool = False

    @property
    def actor(self) -> str:
        """What an op written with this token names as its actor."""
        return f"token:{self.token_id}"

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


def issue_token(
    engine: Engine,
    label: str,
    scopes: Collection[str],
    *,
    known_scopes: Collection[str],
    created_by: str,
    now_ms: int,
) -> tuple[str, ApiToken]:
    """(the secret, shown this once, the token). `known_scopes`: what this app's API
    checks (a token cannot hold a scope nothing asks for)."""
    unknown = set(scopes) - set(known_scopes)
    if not scopes or unknown:
        raise BusinessRuleError(
            f"scopes must be some of {sorted(known_scopes)}, not {sorted(unknown)}",
            message_zh=f"权限范围无效：{sorted(unknown) or '未选择'}",
        )
    label = label.strip()[:64]
    if not label:
        raise BusinessRuleError("a token needs a label", message_zh="令牌须有名称")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(new_id(), label, frozenset(scopes), created_by)
    with engine.begin() as conn:
        conn.execute(
            access_tokens.insert(),
            {
                "token_id": token.token_id,
                "token_hash": token_digest(secret),
                "label": label,
                "scopes": json.dumps(sorted(scopes)),
                "created_by": created_by,
                "created_ms": now_ms,
            },
        )
    return secret, token


def token_of(engine: Engine, bearer: str | None, *, now_ms: int) -> ApiToken | None:
    """The live token a bearer secret is, or None (unknown, malformed or revoked)."""
    if not bearer or not bearer.startswith(PREFIX):
        return None
    t = access_tokens
    digest = token_digest(bearer)
    with engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.token_hash == digest)).first()
    if row is None or row.revoked_ms is not None:
        return None
    if row.last_used_ms is None or now_ms - row.last_used_ms >= _LAST_USED_EVERY_MS:
        best_effort(engine, update(t).where(t.c.token_hash == digest).values(last_used_ms=now_ms))
    return _token(row)


def list_tokens(engine: Engine) -> list[ApiToken]:
    """Every token issued here, live and revoked, newest first (never a secret)."""
    t = access_tokens
    with engine.connect() as conn:
        return [_token(r) for r in conn.execute(select(t).order_by(t.c.created_ms.desc()))]


def revoke_token(engine: Engine, token_id: str, *, now_ms: int) -> None:
    t = access_tokens
    with engine.begin() as conn:
        done = conn.execute(
            update(t)
            .where(t.c.token_id == token_id, t.c.revoked_ms.is_(None))
            .values(revoked_ms=now_ms)
        )
    if not done.rowcount:
        raise NotFound("no such live token", message_zh="没有该有效令牌")


def _token(row: Row[Any]) -> ApiToken:
    return ApiToken(
        str(row.token_id),
        str(row.label),
        frozenset(json.loads(row.scopes)),
        str(row.created_by),
        row.revoked_ms is not None,
    )
