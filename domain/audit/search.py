"""Searching the audit trail as people ask: an action, an actor, a location, and calendar
days at the place (from–to, both included), whether typed into a page's filter form or
sent to `GET /api/audit`; and each entry as that API answers it. The hub's page and a
node's (`cloud/audit_page.py`, `edge/audit_page.py`) give the connection, the timezone
and their limits; the trail itself is `domain.audit.trail`."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Final, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    TypeAdapter,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError
from sqlalchemy import Connection

from domain.audit.trail import ACTIONS, Action, AuditEntry, audit_trail
from sync_protocol.hlc import wall_ms_of

LATEST_MS: Final = wall_ms_of((1 << 63) - 1)  # the last instant a stamp can hold
TEXT_MAX: Final = 80  # the longest actor: user:<a 64-character username>
LOCATION_MAX: Final = 64
DAY_PATTERN: Final = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_PRINTABLE: Final = r"^[^\x00-\x1f\x7f]+$"


# --- days ---------------------------------------------------------------------------------


def parse_day(value: object) -> date:
    """YYYY-MM-DD, a real calendar day, and nothing else (not 20261201, not a Unix time,
    not a datetime, not 2026-02-30): a `PydanticCustomError` (a ValueError) otherwise."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(DAY_PATTERN, value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError(
        "audit_day",
        "a calendar day written YYYY-MM-DD",
        {"message_zh": "日期格式应为 YYYY-MM-DD"},
    )


def day_bounds(
    since: date | None, until: date | None, timezone: str
) -> tuple[int | None, int | None]:
    """(since_ms, until_ms) for `audit_trail`: from the first ms of day `since` to the
    first ms after day `until` (so `until_ms` is exclusive) in `timezone`. A day before
    1970, or after what a stamp can hold, bounds nothing more than the stamps' ends."""
    zone = ZoneInfo(timezone)
    since_ms = None if since is None else _start_ms(since, zone)
    if until is None or until == date.max:
        return since_ms, None
    return since_ms, _start_ms(until + timedelta(days=1), zone)


def _start_ms(day: date, zone: ZoneInfo) -> int:
    ms = int(datetime.combine(day, time(), zone).timestamp() * 1000)
    return min(max(ms, 0), LATEST_MS)


# --- the JSON API's filters (strict: what the document says is what is accepted) ----------

Day = Annotated[
    date,
    BeforeValidator(parse_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DAY_PATTERN}),
]
Actor = Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX, pattern=_PRINTABLE)]
Location = Annotated[
    str, StringConstraints(min_length=1, max_length=LOCATION_MAX, pattern=_PRINTABLE)
]
# Each filter is optional by leaving it out: a query string cannot say `null` (a client
# told it may would send `?action=`, an empty text), so the document gives its type alone.
ActionFilter = Annotated[Action | None, WithJsonSchema(TypeAdapter(Action).json_schema())]
ActorFilter = Annotated[Actor | None, WithJsonSchema(TypeAdapter(Actor).json_schema())]
LocationFilter = Annotated[Location | None, WithJsonSchema(TypeAdapter(Location).json_schema())]
DayFilter = Annotated[Day | None, WithJsonSchema(TypeAdapter(Day).json_schema())]


@dataclass(frozen=True)
class AuditSearch:
    """A search of the trail: every filter given must match; `since` and `until` are
    local days where the trail is read, both included."""

    action: Action | None = None
    actor: str | None = None
    location: str | None = None
    since: date | None = None
    until: date | None = None

    def entries(self, conn: Connection, *, timezone: str, limit: int) -> list[AuditEntry]:
        """The newest `limit` entries that match, newest first."""
        since_ms, until_ms = day_bounds(self.since, self.until, timezone)
        return audit_trail(
            conn,
            action=self.action,
            actor=self.actor,
            location=self.location,
            since_ms=since_ms,
            until_ms=until_ms,
            limit=limit,
        )


class AuditEntryOut(BaseModel):
    """An entry as `GET /api/audit` answers it (and as a page shows it)."""

    at_ms: int = Field(description="when (ms since the epoch, UTC)")
    at: datetime = Field(description="when, ISO 8601 in UTC")
    actor: str = Field(description="who: a staff id, user:<username>, token:<id>")
    action: str = Field(description="what was done, a stable key: " + ", ".join(ACTIONS))
    subject: str = Field(description="what it was about: a username, staff id, SKU…")
    location: str = Field(description="the node (or `cloud`: the hub) where it happened")
    authorised_by: str | None = Field(description="the supervisor who authorised it, if any")
    detail: str
    origin: str = Field(description="the replica that wrote the op")
    seq: int = Field(description="the op's number at its origin")

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        return cls(**asdict(entry), at=datetime.fromtimestamp(entry.at_ms / 1000, UTC))


# --- a page's filter form (a GET: an empty field is "any") --------------------------------

Problem = Literal["action", "date"]  # a page says `audit.bad_<problem>` in its language


@dataclass(frozen=True)
class AuditForm:
    """The filter form as typed (trimmed) and the search it asks for; `search` is None
    when a field cannot be read, and `unreadable` names those fields (action, from,
    to): what cannot be read is said, not searched for."""

    action: str
    actor: str
    location: str
    since: str  # the field `from`
    until: str  # the field `to`
    search: AuditSearch | None
    unreadable: tuple[str, ...]

    @classmethod
    def read(
        cls, action: str = "", actor: str = "", location: str = "", since: str = "", until: str = ""
    ) -> AuditForm:
        action, actor, location = action.strip(), actor.strip(), location.strip()
        since, until = since.strip(), until.strip()
        known = next((a for a in ACTIONS if a == action), None)
        unreadable = ["action"] if action and known is None else []
        days: dict[str, date | None] = {}
        for name, text in (("from", since), ("to", until)):
            try:
                days[name] = parse_day(text) if text else None
            except ValueError:
                unreadable.append(name)
        search = None
        if not unreadable:
            who, where = _printable(actor), _printable(location)
            search = AuditSearch(known, who, where, days["from"], days["to"])
        return cls(action, actor, location, since, until, search, tuple(unreadable))

    @property
    def problems(self) -> tuple[Problem, ...]:
        """What to tell the user, once each: `action` (no such action), `date` (a date
        is written YYYY-MM-DD)."""
        found: list[Problem] = []
        if "action" in self.unreadable:
            found.append("action")
        if "from" in self.unreadable or "to" in self.unreadable:
            found.append("date")
        return tuple(found)


def _printable(text: str) -> str | None:
    kept = "".join(ch for ch in text if ch.isprintable()).strip()
    return kept or None


def csv_filename(place: str, now: datetime) -> str:
    """`audit-store-1-20261201-183005.csv`: where the trail was read and when (local)."""
    return f"audit-{place}-{now:%Y%m%d-%H%M%S}.csv"
