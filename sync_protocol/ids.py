"""IDs of new aggregates: UUIDv7 (RFC 9562), time-ordered so they index well.

From the `uuid6` package (the standard library has `uuid.uuid7` only from Python 3.14);
it also keeps ids made within one millisecond in order.
"""

from __future__ import annotations

import uuid6


def new_id() -> str:
    return str(uuid6.uuid7())
