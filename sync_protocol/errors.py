"""Shopfloor's error hierarchy.

    ShopfloorError                 anything we raise on purpose
    ├── SyncError                  replication went wrong; the op or message is recorded
    │   ├── MalformedMessage       bytes that are not a valid sync message
    │   ├── InvalidOp              an op whose envelope or body does not validate
    │   ├── SignatureRejected      the signature fails or the origin has no enrolled key
    │   └── OriginMismatch         an op arrived on a topic of a node that did not make it
    ├── (domain.errors)            the business's own errors (BusinessRuleError, NotFound,
    │                              Conflict) subclass the root, in the layer whose words they use
    ├── ConfigurationError         the node or hub is set up wrongly; fix config, restart
    └── NodeNotReady               the node may not write yet (restored from a backup and
                                   still replaying its own ops from the hub); retry soon

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


class ConfigurationError(ShopfloorError):
    """The node or hub is configured wrongly; correct the setting and restart."""


class NodeNotReady(ShopfloorError):
    """Local writes are held: the ledger came from a backup and the node is fetching its
    own later ops from the hub so it never reuses a sequence number. Retry shortly."""
