"""Who may do what at the hub: HQ users by role, API tokens by scope, and the gate that
turns a session cookie or a bearer token into a `web_ui.access.Principal`."""

from __future__ import annotations

from typing import Annotated

from sqlalchemy import Engine

from cloud.accounts.users import user_by_id
from cloud.scopes import (
    AUDIT_READ,
    CATALOG_WRITE,
    NODES_READ,
    ROLE_SCOPES,
    STAFF_WRITE,
    STOCK_READ,
    TOKEN_SCOPES,
    USERS_WRITE,
)
from domain.access.sessions import session_of
from domain.access.tokens import token_of
from sync_protocol.hlc import system_ms
from web_ui.access import Principal, require

# The principal a route needs, as a parameter type: `who: CatalogWriter`.
CatalogWriter = Annotated[Principal, require(CATALOG_WRITE)]
StaffWriter = Annotated[Principal, require(STAFF_WRITE)]
UsersAdmin = Annotated[Principal, require(USERS_WRITE)]
StockReader = Annotated[Principal, require(STOCK_READ)]
NodesReader = Annotated[Principal, require(NODES_READ)]
AuditReader = Annotated[Principal, require(AUDIT_READ)]


class HubGate:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def from_session(self, cookie: str) -> Principal | None:
        session = session_of(self.engine, cookie, now_ms=system_ms())
        if session is None or not session.principal.startswith("user:"):
            return None
        user = user_by_id(self.engine, session.principal.removeprefix("user:"))
        if user is None or not user.active:
            return None
        return Principal(
            kind="user",
            id=user.user_id,
            name=user.display_name,
            actor=user.actor,
            scopes=ROLE_SCOPES.get(user.role, frozenset()),
            role=user.role,
            csrf_token=session.csrf_token,
            extra={"username": user.username},
        )

    def from_bearer(self, secret: str) -> Principal | None:
        token = token_of(self.engine, secret, now_ms=system_ms())
        if token is None:
            return None
        return Principal(
            kind="token",
            id=token.token_id,
            name=token.label,
            actor=token.actor,
            scopes=token.scopes & TOKEN_SCOPES,
        )
