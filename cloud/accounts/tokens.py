"""API tokens for tills, scripts and integrations, sent as `Authorization: Bearer`.
Scoped, revocable, shown once when issued and stored as a SHA-256 digest; a revoked
token stops working at the next request (every request looks it up)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Engine, select, update

from cloud.accounts.sessions import token_digest
from cloud.accounts.tables import api_tokens
from domain.errors import BusinessRuleError, NotFound
from sync_protocol.ids import new_id

PREFIX: Final = "sft_"  # recognisable in a leaked config or a secret scanner
SCOPES: Final = frozenset({"catalog:write", "stock:read", "nodes:read", "audit:read"})
_LAST_USED_EVERY_MS: Final = 60_000


@dataclass(frozen=True)
class ApiToken:
    token_id: str
    label: str
    scopes: frozenset[str]
    created_by: str

    @property
    def actor(self) -> str:
        """What an op written with this token names as its actor."""
        return f"token:{self.token_id}"

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


def issue_token(
    engine: Engine, label: str, scopes: set[str], *, created_by: str, now_ms: int
) -> tuple[str, ApiToken]:
    """(the secret, shown this once, the token)."""
    unknown = scopes - SCOPES
    if not scopes or unknown:
        raise BusinessRuleError(
            f"scopes must be some of {sorted(SCOPES)}, not {sorted(unknown)}",
            message_zh=f"权限范围无效：{sorted(unknown) or '未选择'}",
        )
    label = label.strip()[:64]
    if not label:
        raise BusinessRuleError("a token needs a label", message_zh="令牌须有名称")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(new_id(), label, frozenset(scopes), created_by)
    with engine.begin() as conn:
        conn.execute(
            api_tokens.insert(),
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
    t = api_tokens
    digest = token_digest(bearer)
    with engine.begin() as conn:
        row = conn.execute(select(t).where(t.c.token_hash == digest)).first()
        if row is None or row.revoked_ms is not None:
            return None
        if row.last_used_ms is None or now_ms - row.last_used_ms >= _LAST_USED_EVERY_MS:
            conn.execute(update(t).where(t.c.token_hash == digest).values(last_used_ms=now_ms))
    return ApiToken(
        str(row.token_id), str(row.label), frozenset(json.loads(row.scopes)), str(row.created_by)
    )


def revoke_token(engine: Engine, token_id: str, *, now_ms: int) -> None:
    t = api_tokens
    with engine.begin() as conn:
        done = conn.execute(
            update(t)
            .where(t.c.token_id == token_id, t.c.revoked_ms.is_(None))
            .values(revoked_ms=now_ms)
        )
    if not done.rowcount:
        raise NotFound("no such live token", message_zh="没有该有效令牌")
