"""Shopfloor's error hierarchy.

    ShopfloorError                 anything we raise on purpose
    ├── SyncError                  replication went wrong; the op or message is recorded
    │   ├── MalformedMessage       bytes that are not a valid sync message
    │   ├── InvalidOp              an op whose envelope or body does not validate
    │   ├── SignatureRejected      the signature fails or the origin has no enrolled key
    │   ├── OriginMismatch         an op arrived on a topic of a node that did not make it
    │   └── SnapshotRejected       a hub snapshot that is forged, tampered, not for this
    │                              node, or that would lose ops the hub lacks: not installed
    ├── (domain.errors)            the business's own errors (BusinessRuleError, NotFound,
    │                              Conflict) subclass the root, in the layer whose words they use
    ├── ConfigurationError         the node or hub is set up wrongly; fix config, restart
    ├── NodeNotReady               the node may not write yet (restored from a backup and
    │                              still replaying its own ops from the hub); retry soon
    └── StorageFull                the disk is full: the write was rolled back, nothing of
                                   it stored; free space, then retry

Each error carries `message_zh` for the UI (Chinese first) next to the English text.
This library knows no HTTP: the web layer (`web_ui.errors`) maps the tree to status
codes in exactly one place.
"""

from __future__ import annotations


class ShopfloorError(Exception):
    """Root of every error Shopfloor raises on purpose."""

    def __init__(self, message: str, *, message_zh: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh or message


class SyncError(ShopfloorError):
    """Replication failed for one message or op; the rest keeps flowing."""


class MalformedMessage(SyncError):
    """Bytes that do not decode to a sync message. Dropped and recorded."""


class InvalidOp(SyncError):
    """An op whose envelope or body fails validation. Rejected and recorded."""


class SignatureRejected(SyncError):
    """Signature does not verify, or the origin has no enrolled key. Enroll the node
    (`shopfloor cloud enroll-node`) if it is genuine."""


class OriginMismatch(SyncError):
    """A node sent an op it did not create; nodes may only publish their own ops."""


class SnapshotRejected(SyncError):
    """A snapshot was not installed: its signature fails, it is for another node or
    another schema, or this replica holds ops the hub lacks. Nothing changed; the node
    catches up op by op instead."""


class Unauthenticated(ShopfloorError):
    """The request names no one this side knows (no or a bad login, token or proof)."""


class Forbidden(ShopfloorError):
    """The one who asked is known but may not do this."""


class ConfigurationError(ShopfloorError):
    """The node or hub is configured wrongly; correct the setting and restart."""


class NodeNotReady(ShopfloorError):
    """Local writes are held: the ledger came from a backup and the node is fetching its
    own later ops from the hub so it never reuses a sequence number. Retry shortly."""


class StorageFull(ShopfloorError):
    """The database could not write because the disk (or the database's size limit) is
    full. The transaction was rolled back: nothing of the operation was stored, and what
    was stored before is intact. Free disk space (or ask the administrator), then retry.

    Raised by the store, translated from the driver's own error (SQLite's SQLITE_FULL,
    ENOSPC, PostgreSQL's SQLSTATE 53100) in one place; `detail` keeps the driver's words
    for the log, the messages do not show them."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            "Storage is full: this operation was not saved. Free disk space or contact the "
            "administrator, then retry.",
            message_zh="存储空间已满：本次操作未保存，请清理磁盘或联系管理员。",
        )
        self.detail = detail
