"""The audit trail at the hub (audit:read), over every node's ops the hub holds: a page
with filters (action, actor, location, from–to day), the same search as CSV for Excel,
and as JSON (`GET /api/audit`). Days are calendar days in the hub's display timezone,
both ends included; the trail itself is `domain.audit.trail`."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema

from cloud.access import AuditReader
from cloud.deps import HubDep, PagesDep
from cloud.hub import Hub
from cloud.views import node_rows
from domain.audit.trail import ACTIONS, Action, AuditEntry, audit_csv, audit_trail
from web_ui.errors import error_responses
from web_ui.i18n import translator

router = APIRouter()

PAGE_ROWS: Final = 200
MAX_API_ROWS: Final = 1000
MAX_CSV_ROWS: Final = 50_000
# The trail's stamps hold 47 bits of milliseconds (`sync_protocol.hlc`): a day outside
# 1970..6429 is clamped to these ends rather than refused.
_MAX_MS: Final = (1 << 47) - 1
_PRINTABLE: Final = r"^[^\x00-\x1f\x7f]+$"
_DAY: Final = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def a_day(value: object) -> date:
    """YYYY-MM-DD, a real calendar day, and nothing else (not `0`, not a datetime)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.fullmatch(_DAY, value):
        raise ValueError("a day is written YYYY-MM-DD")
    return date.fromisoformat(value)  # 2026-02-30: a ValueError, so a 422


Day = Annotated[
    date,
    BeforeValidator(a_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": _DAY}),
]


class AuditEntryOut(BaseModel):
    at_ms: int = Field(description="when (ms since the epoch, UTC)")
    at: str = Field(description="when, ISO 8601 in UTC")
    actor: str = Field(description="who: user:<username>, token:<id>, a staff id")
    action: str = Field(description="what was done, a stable key: " + ", ".join(ACTIONS))
    subject: str = Field(description="what it was about: a username, staff id, SKU…")
    location: str = Field(description="the node (or `cloud`: the hub) where it happened")
    authorised_by: str | None = Field(description="the supervisor who authorised it, if any")
    detail: str
    origin: str
    seq: int


def day_bounds(since: date | None, until: date | None, tz: str) -> tuple[int | None, int | None]:
    """From the start of day `since` to the end of day `until`, in ms (until exclusive)."""
    zone = ZoneInfo(tz)

    def start_ms(day: date) -> int:
        moment = datetime.combine(day, time(), zone)
        try:
            ms = int(moment.astimezone(UTC).timestamp() * 1000)
        except (OverflowError, ValueError):  # year 1 east of UTC, year 9999 west of it
            ms = 0 if day.year < 1970 else _MAX_MS
        return max(0, min(ms, _MAX_MS))

    def after(day: date) -> date | None:
        return day + timedelta(days=1) if day < date.max else None

    until_ms = None
    if until is not None:
        next_day = after(until)
        until_ms = start_ms(next_day) if next_day is not None else _MAX_MS
    return (start_ms(since) if since is not None else None), until_ms


def _search(
    hub: Hub,
    *,
    action: str | None,
    actor: str | None,
    location: str | None,
    since: date | None,
    until: date | None,
    limit: int,
) -> list[AuditEntry]:
    since_ms, until_ms = day_bounds(since, until, hub.settings.timezone)
    with hub.store.read() as conn:
        return audit_trail(
            conn,
            action=action,
            actor=actor,
            location=location,
            since_ms=since_ms,
            until_ms=until_ms,
            limit=limit,
        )


# --- the page and the CSV (a form's GET: empty fields are "any") ---------------------

FormText = Annotated[str, Query(max_length=80)]


class _Filters:
    """The page's filters as typed; what cannot be read is said, not searched for."""

    def __init__(self, action: str, actor: str, location: str, since: str, until: str) -> None:
        self.form = {"action": action, "actor": actor, "location": location}
        self.form |= {"from": since, "to": until}
        self.bad: list[str] = []
        self.action = action if action in ACTIONS else None
        if action and self.action is None:
            self.bad.append("action")
        self.actor = _clean(actor)
        self.location = _clean(location)
        self.since = self._day("from", since)
        self.until = self._day("to", until)
        if "from" in self.bad and "to" in self.bad:
            self.bad.remove("to")  # one "a date is written YYYY-MM-DD" says it

    def _day(self, name: str, text: str) -> date | None:
        if not text.strip():
            return None
        try:
            return a_day(text.strip())
        except ValueError:
            self.bad.append(name)
            return None

    def search(self, hub: Hub, limit: int) -> list[AuditEntry]:
        if self.bad:
            return []
        return _search(
            hub,
            action=self.action,
            actor=self.actor,
            location=self.location,
            since=self.since,
            until=self.until,
            limit=limit,
        )


_BAD: Final = {"action": "audit.bad_action", "from": "audit.bad_date", "to": "audit.bad_date"}


def _clean(text: str) -> str | None:
    kept = "".join(ch for ch in text if ch.isprintable()).strip()
    return kept or None


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    hub: HubDep,
    pages: PagesDep,
    _: AuditReader,
    action: FormText = "",
    actor: FormText = "",
    location: FormText = "",
    since: Annotated[str, Query(alias="from", max_length=10)] = "",
    until: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> HTMLResponse:
    filters = _Filters(action, actor, location, since, until)
    entries = filters.search(hub, PAGE_ROWS + 1)
    t = translator(pages.locale_of(request))
    error = " ".join(t(_BAD[name]) for name in filters.bad) or None
    locations = ["cloud", *(n.node_id for n in node_rows(hub.store))]
    context = {
        "entries": [
            {**asdict(e), "at": datetime.fromtimestamp(e.at_ms / 1000, UTC)}
            for e in entries[:PAGE_ROWS]
        ],
        "more": len(entries) > PAGE_ROWS,
        "page_rows": PAGE_ROWS,
        "actions": ACTIONS,
        "locations": locations,
        "filters": filters.form,
        "csv_href": "/audit.csv" + (f"?{request.url.query}" if request.url.query else ""),
        "error": error,
    }
    return pages.render(request, "audit.html", context, status_code=422 if error else 200)


@router.get("/audit.csv")
def audit_csv_file(
    hub: HubDep,
    _: AuditReader,
    action: FormText = "",
    actor: FormText = "",
    location: FormText = "",
    since: Annotated[str, Query(alias="from", max_length=10)] = "",
    until: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> Response:
    filters = _Filters(action, actor, location, since, until)
    if filters.bad:
        text = f"unreadable filters: {', '.join(filters.bad)}\n"
        return Response(text, status_code=422, media_type="text/plain; charset=utf-8")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        audit_csv(filters.search(hub, MAX_CSV_ROWS)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
    )


# --- the JSON API (strict: what the document says is what is accepted) ----------------


@router.get(
    "/api/audit",
    response_model=list[AuditEntryOut],
    operation_id="audit_trail",
    responses=error_responses(422),
)
def get_audit(
    hub: HubDep,
    _: AuditReader,
    action: Annotated[Action | None, Query(description="only entries of this action")] = None,
    actor: Annotated[
        str | None,
        Query(min_length=1, max_length=80, pattern=_PRINTABLE, description="only this actor"),
    ] = None,
    location: Annotated[
        str | None,
        Query(min_length=1, max_length=64, pattern=_PRINTABLE, description="only this node"),
    ] = None,
    since: Annotated[
        Day | None, Query(alias="from", description="from this day (hub's timezone), included")
    ] = None,
    until: Annotated[
        Day | None, Query(alias="to", description="to this day (hub's timezone), included")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_API_ROWS, description="newest first, at most this many")
    ] = PAGE_ROWS,
) -> list[AuditEntryOut]:
    entries = _search(
        hub,
        action=action,
        actor=actor,
        location=location,
        since=since,
        until=until,
        limit=limit,
    )
    return [
        AuditEntryOut(
            **asdict(e),
            at=datetime.fromtimestamp(e.at_ms / 1000, UTC).isoformat(timespec="milliseconds"),
        )
        for e in entries
    ]
