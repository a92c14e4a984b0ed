"""The business's errors: a request that breaks a rule, names nothing that exists, or
repeats an earlier request's key with a different body. Each says what happened and
what to do, in English and Chinese; nothing was written when one is raised.

    ShopfloorError (sync_protocol.errors)
    └── BusinessRuleError      a request that breaks a rule of the business (unknown
        │                      SKU, negative quantity…); shown to staff, nothing written
        ├── NotFound           the thing asked for does not exist
        └── Conflict           the request clashes with what is recorded (an idempotency
                               key reused for a different request)
"""

from __future__ import annotations

from sync_protocol.errors import ShopfloorError


class BusinessRuleError(ShopfloorError):
    """The request breaks a business rule; nothing was written."""


class NotFound(BusinessRuleError):
    """The item, node or record named does not exist."""


class Conflict(BusinessRuleError):
    """The request clashes with what is already recorded: the same idempotency key was
    used before for a different request. Use a new key for a new request."""
