"""Who may do what at a node: staff by role, API tokens (a till's, a script's) by scope,
and the gate that turns a session cookie or a bearer token into a
`web_ui.access.Principal`. Everything here reads the node's own ledger: it works with
the hub unreachable."""

from __future__ import annotations

from typing import Annotated

from domain.access.sessions import session_of
from domain.access.tokens import token_of
from domain.staff.queries import staff_account
from edge.scopes import (
    AUDIT_READ,
    ROLE_SCOPES,
    SALES_WRITE,
    STAFF_PREFIX,
    STOCK_READ,
    STOCK_WRITE,
    SYNC_READ,
    TOKEN_SCOPES,
)
from sync_protocol.hlc import system_ms
from sync_protocol.store import ReplicaStore
from web_ui.access import Principal, require

# The principal a route needs, as a parameter type: `who: SalesWriter`.
SalesWriter = Annotated[Principal, require(SALES_WRITE)]
StockWriter = Annotated[Principal, require(STOCK_WRITE)]
StockReader = Annotated[Principal, require(STOCK_READ)]
SyncReader = Annotated[Principal, require(SYNC_READ)]
AuditReader = Annotated[Principal, require(AUDIT_READ)]


class NodeGate:
    def __init__(self, ledger: ReplicaStore, *, idle_ms: int) -> None:
        self.ledger = ledger
        self.idle_ms = idle_ms

    def from_session(self, cookie: str) -> Principal | None:
        engine = self.ledger.engine
        session = session_of(engine, cookie, now_ms=system_ms(), idle_ms=self.idle_ms)
        if session is None or not session.principal.startswith(STAFF_PREFIX):
            return None
        with self.ledger.read() as conn:
            account = staff_account(conn, session.principal.removeprefix(STAFF_PREFIX))
        if account is None or not account.can_log_in:
            return None  # deactivated at the hub since: the session ends with it
        return Principal(
            kind="staff",
            id=account.staff_id,
            name=account.name,
            actor=account.staff_id,
            scopes=ROLE_SCOPES.get(account.role, frozenset()),
            role=account.role,
            csrf_token=session.csrf_token,
        )

    def from_bearer(self, secret: str) -> Principal | None:
        token = token_of(self.ledger.engine, secret, now_ms=system_ms())
        if token is None:
            return None
        return Principal(
            kind="token",
            id=token.token_id,
            name=token.label,
            actor=token.actor,
            scopes=token.scopes & TOKEN_SCOPES,
        )
