"""Staff op kinds: an account's fields are last-writer-wins registers written at the hub
(a manager there creates staff; nodes only receive them), and each PIN check at a node
is a fact that node owns (`staff.pin_failed`, `staff.pin_accepted`) as is a supervisor's
unlock (`staff.unlocked`): together they decide back-off and lock-out on every replica
alike, and they are the audit trail of logins. A supervisor's PIN given for one action
at a colleague's till (`staff.action_authorised`) decides nothing: it is the record."""

from __future__ import annotations

from typing import Annotated, Final, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    TypeAdapter,
    ValidationError,
)

from sync_protocol.registry import Body, Kind

STAFF_ID_MAX: Final = 32
ROLES: Final = ("cashier", "supervisor", "warehouse", "manager")
Role = Literal["cashier", "supervisor", "warehouse", "manager"]
#: The roles whose PIN may authorise a single action for someone else and unlock a
#: locked-out colleague.
AUTHORISERS: Final = frozenset({"supervisor", "manager"})
#: What a cashier needs an authoriser's PIN for, one action at a time.
AuthorisedAction = Literal[
    "void", "refund", "price_override", "discount_over_limit", "no_sale_drawer"
]
AUTHORISED_ACTIONS: Final[tuple[str, ...]] = get_args(AuthorisedAction)

#: The staff id a PIN try is recorded under when the id typed names no account (a PIN
#: typed into the ID field must not be kept). Ids starting with "_" are reserved.
UNKNOWN_STAFF: Final = "_unknown"

StaffId = Annotated[str, Field(min_length=1, max_length=STAFF_ID_MAX, pattern=r"^[0-9A-Za-z._-]+$")]
_STAFF_ID_ADAPTER: TypeAdapter[str] = TypeAdapter(StaffId)


def is_staff_id(text: str) -> bool:
    """Whether `text` could be a staff id at all (before looking it up)."""
    try:
        _STAFF_ID_ADAPTER.validate_python(text)
    except ValidationError:
        return False
    return True


# An Argon2id hash in the PHC string format, as `domain.staff.pins` makes it; never a PIN.
PinHash = Annotated[str, Field(pattern=r"^\$argon2id\$v=\d+\$[^$]+\$[^$]+\$[^$]+$", max_length=200)]


class StaffFields(BaseModel):
    """What HQ may set on a staff account. Strict, unknown fields refused; a field
    left out (or None) is not changed."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: StrictStr | None = Field(default=None, min_length=1, max_length=64)
    role: Role | None = None
    pin_hash: PinHash | None = None
    active: StrictBool | None = None

    def changes(self) -> dict[str, str | bool]:
        return {k: v for k, v in self.model_dump(exclude_none=True).items()}


class StaffMemberSet(Body):
    """Register writes on one account; only the hub's count (`rules.HUB`)."""

    staff_id: StaffId
    fields: dict[str, str | bool | None] = Field(min_length=1)


class PinChecked(Body):
    """A PIN tried for `staff_id` at `location` (a node), wrong or right."""

    staff_id: StaffId
    location: str = Field(min_length=1, max_length=64)


class StaffUnlocked(Body):
    """A supervisor (`by`) let `staff_id` try PINs again at `location`."""

    staff_id: StaffId
    location: str = Field(min_length=1, max_length=64)
    by: StaffId


class ActionAuthorised(Body):
    """An authoriser (`by`) gave their PIN for one `action` of `staff_id`'s at
    `location`. The action is a name, not the Literal: a newer release may authorise
    more, and this replica must still store and relay its ops."""

    action: str = Field(min_length=1, max_length=32, pattern=r"^[a-z_]+$")
    staff_id: StaffId
    by: StaffId
    location: str = Field(min_length=1, max_length=64)
    detail: str = Field(default="", max_length=200)


MEMBER_SET = Kind("staff.member_set", 1, StaffMemberSet)
PIN_FAILED = Kind("staff.pin_failed", 1, PinChecked)
PIN_ACCEPTED = Kind("staff.pin_accepted", 1, PinChecked)
UNLOCKED = Kind("staff.unlocked", 1, StaffUnlocked)
#: The wrong PIN that locked an account (written beside that try's `staff.pin_failed`):
#: the lock itself is derived from the failures; this is its line in the audit trail.
LOCKED_OUT = Kind("staff.locked_out", 1, PinChecked)
ACTION_AUTHORISED = Kind("staff.action_authorised", 1, ActionAuthorised)
KINDS = (MEMBER_SET, PIN_FAILED, PIN_ACCEPTED, UNLOCKED, ACTION_AUTHORISED, LOCKED_OUT)
