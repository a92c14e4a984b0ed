"""Shopfloor's error hierarchy.

    ShopfloorError                 anything we raise on purpose
    ├── SyncError                  replication went wrong; the op or message is recorded
    │   ├── MalformedMessage       bytes that are not a valid sync message
    │   ├── InvalidOp              an op whose envelope or body does not validate
    │   ├── SignatureRejected      the signature fails or the origin has no enrolled key
    │   └── OriginMismatch         an op arrived on a topic of a node that did not make it
    ├── BusinessRuleError          a request that breaks a rule of the business (unknown
    │   │                          SKU, negative quantity…); shown to staff, nothing written
    │   └── NotFound               the thing asked for does not exist
    ├── ConfigurationError         the node or hub is set up wrongly; fix config, restart
    └── NodeNotReady               the node may not write yet (restored from a backup and
                                   still replaying its own ops from the hub); retry soon

Each error carries `message_zh` for the UI (Chinese first) next to the English text,
so the HTTP layer maps errors to responses in exactly one place.
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


class BusinessRuleError(ShopfloorError):
    """The request breaks a business rule; nothing was written."""


class NotFound(BusinessRuleError):
    """The item, node or record named does not exist."""


class ConfigurationError(ShopfloorError):
    """The node or hub is configured wrongly; correct the setting and restart."""


class NodeNotReady(ShopfloorError):
    """Local writes are held: the ledger came from a backup and the node is fetching its
    own later ops from the hub so it never reuses a sequence number. Retry shortly."""


def error_response(exc: ShopfloorError) -> tuple[int, dict[str, str]]:
    """The HTTP status and JSON body of an error, in both languages."""
    body = {"error": type(exc).__name__, "message": exc.message, "message_zh": exc.message_zh}
    return http_status_of(exc), body


def http_status_of(exc: ShopfloorError) -> int:
    """The one mapping of our errors to HTTP status codes, used by edge and hub."""
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, BusinessRuleError):
        return 422
    if isinstance(exc, SyncError):
        return 400
    if isinstance(exc, NodeNotReady):
        return 503
    return 500
