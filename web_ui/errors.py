"""Errors become HTTP responses here, and only here.

The apps raise errors from one documented tree (`sync_protocol.errors`, `domain.errors`);
this module imports neither (web_ui imports nothing of ours), so the mapping names the
classes: the first name met walking an error's class hierarchy decides its status.
Every answer carries the English and the Chinese message.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel

STATUS_BY_ERROR: Final[dict[str, int]] = {
    "NotFound": 404,
    "Conflict": 409,
    "BusinessRuleError": 422,
    "SyncError": 400,
    "NodeNotReady": 503,
    "StorageFull": 507,
}


class ErrorOut(BaseModel):
    """What every error answer looks like (documented in each app's OpenAPI)."""

    error: str
    message: str
    message_zh: str


def status_of(exc: BaseException) -> int:
    for cls in type(exc).__mro__:
        status = STATUS_BY_ERROR.get(cls.__name__)
        if status is not None:
            return status
    return 500


def error_body(exc: BaseException) -> dict[str, str]:
    message = str(getattr(exc, "message", None) or exc)
    return {
        "error": type(exc).__name__,
        "message": message,
        "message_zh": str(getattr(exc, "message_zh", None) or message),
    }
