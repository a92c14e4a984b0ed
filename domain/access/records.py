"""Recording an admin's changes to HQ users and API tokens as ops (the audit trail's
part of access). The users and tokens themselves are this replica's own tables; these
ops are only the record of who changed what, and decide nothing."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from domain.access.kinds import TOKEN_CHANGED, USER_CHANGED
from sync_protocol.ops import Op
from sync_protocol.store import ReplicaStore


def record_user_changed(
    store: ReplicaStore, username: str, fields: Mapping[str, str | bool], *, actor: str
) -> Op:
    """`actor` created or changed user `username`: `fields` as set (never a password)."""
    with store.write() as txn:
        return txn.append(USER_CHANGED.name, {"username": username, "fields": dict(fields)}, actor)


def record_token_issued(
    store: ReplicaStore, token_id: str, label: str, scopes: Collection[str], *, actor: str
) -> Op:
    body = {"token_id": token_id, "label": label, "change": "issued", "scopes": sorted(scopes)}
    with store.write() as txn:
        return txn.append(TOKEN_CHANGED.name, body, actor)


def record_token_revoked(store: ReplicaStore, token_id: str, label: str, *, actor: str) -> Op:
    body = {"token_id": token_id, "label": label, "change": "revoked", "scopes": []}
    with store.write() as txn:
        return txn.append(TOKEN_CHANGED.name, body, actor)
