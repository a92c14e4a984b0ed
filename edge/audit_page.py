"""The node's audit trail: who did what here, when, and who authorised it, read from the
node's own ledger (its own ops and what it received from the hub), so a supervisor can
look into a till's day with the hub unreachable. A page with filters (`GET /audit`), the
same entries as CSV for Excel (`GET /audit.csv`), and as JSON (`GET /api/audit`).

Days are the node's local days (`EdgeSettings.timezone`), `to` included: "from 12-01 to
12-01" is that whole day at the store."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, BeforeValidator, Field, TypeAdapter, WithJsonSchema
from pydantic_core import PydanticCustomError

from domain.audit.trail import ACTIONS, Action, AuditEntry, audit_csv, audit_trail
from domain.staff.queries import staff_accounts
from edge.access import AuditReader
from edge.api import Actor
from edge.deps import NodeDep, PagesDep
from edge.node import Node
from sync_protocol.hlc import wall_ms_of
from web_ui.errors import error_responses

router = APIRouter()

PAGE_LIMIT: Final = 200
API_LIMIT: Final = 500
CSV_LIMIT: Final = 10_000
_LATEST_MS: Final = wall_ms_of((1 << 63) - 1)  # the last instant an HLC stamp can hold
_DAY: Final = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@dataclass(frozen=True)
class AuditQuery:
    """A search of the trail: every filter given must match."""

    action: str | None = None
    actor: str | None = None
    since: date | None = None  # the first local day
    until: date | None = None  # the last local day, included

    def entries(self, node: Node, *, limit: int) -> list[AuditEntry]:
        zone = ZoneInfo(node.settings.timezone)
        after_last = None if self.until is None or self.until == date.max else self.until
        with node.ledger.read() as conn:
            return audit_trail(
                conn,
                action=self.action,
                actor=self.actor,
                since_ms=_start_ms(self.since, zone),
                until_ms=_start_ms(after_last + timedelta(days=1), zone) if after_last else None,
                limit=limit,
            )


def _start_ms(day: date | None, zone: ZoneInfo) -> int | None:
    """The first ms of `day` at the node, within what a stamp can hold (a day before 1970
    or after that bounds nothing more than that)."""
    if day is None:
        return None
    ms = int(datetime.combine(day, time(), zone).timestamp() * 1000)
    return min(max(ms, 0), _LATEST_MS)


# --- the page and its CSV ---------------------------------------------------------------


@dataclass(frozen=True)
class PageFilters:
    """The filter form as typed (empty fields are no filter), and what it means."""

    action: str
    actor: str
    since: str
    until: str
    query: AuditQuery | None  # None: a field could not be read (`problem` says which)
    problem: str | None


def _page_filters(
    action: Annotated[str, Query(max_length=64)] = "",
    actor: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(alias="from", max_length=32)] = "",
    until: Annotated[str, Query(alias="to", max_length=32)] = "",
) -> PageFilters:
    action, actor, since, until = action.strip(), actor.strip(), since.strip(), until.strip()
    problem = None
    if action and action not in ACTIONS:
        problem = "audit.bad_action"
    days: list[date | None] = []
    for text in (since, until):
        day = _day_or_none(text)
        if text and day is None:
            problem = "audit.bad_date"
        days.append(day)
    query = (
        None if problem else AuditQuery(action or None, actor or None, since=days[0], until=days[1])
    )
    return PageFilters(action, actor, since, until, query, problem)


def _day_or_none(text: str) -> date | None:
    if not _DAY.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


FiltersDep = Annotated[PageFilters, Depends(_page_filters)]


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, node: NodeDep, pages: PagesDep, _: AuditReader, filters: FiltersDep
) -> HTMLResponse:
    entries = filters.query.entries(node, limit=PAGE_LIMIT) if filters.query else []
    with node.ledger.read() as conn:
        names = {account.staff_id: account.name for account in staff_accounts(conn)}
    query = request.url.query
    context: dict[str, Any] = {
        "node_id": node.location,
        "node_label": node.settings.label or node.location,
        "filters": filters,
        "actions": ACTIONS,
        "entries": [_shown(entry) for entry in entries],
        "names": names,
        "limit": PAGE_LIMIT,
        "csv_href": "/audit.csv" + (f"?{query}" if query else ""),
    }
    return pages.render(request, "audit.html", context, status_code=422 if filters.problem else 200)


def _shown(entry: AuditEntry) -> dict[str, Any]:
    return {**vars(entry), "at": datetime.fromtimestamp(entry.at_ms / 1000, UTC)}


@router.get("/audit.csv")
def audit_csv_download(node: NodeDep, _: AuditReader, filters: FiltersDep) -> Response:
    """The entries the page shows with the same filters (up to CSV_LIMIT), for Excel."""
    if filters.query is None:
        return Response(filters.problem, status_code=422, media_type="text/plain")
    entries = filters.query.entries(node, limit=CSV_LIMIT)
    today = datetime.now(ZoneInfo(node.settings.timezone)).strftime("%Y%m%d")
    return Response(
        audit_csv(entries),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="audit-{node.location}-{today}.csv"'
        },
    )


# --- the JSON API -----------------------------------------------------------------------


def _iso_day(value: object) -> object:
    """A day as YYYY-MM-DD and only so (not 20261201, not a Unix time, not a datetime)."""
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise PydanticCustomError(
            "audit_day", "a date as YYYY-MM-DD", {"message_zh": "日期格式应为 YYYY-MM-DD"}
        )
    return value


Day = Annotated[
    date,
    BeforeValidator(_iso_day),
    WithJsonSchema({"type": "string", "format": "date", "pattern": _DAY.pattern}),
]
# Each filter is optional by leaving it out: a query string cannot say `null` (a client
# told it may would send `?action=`, an empty text), so the document gives its type alone.
ActionFilter = Annotated[Action | None, WithJsonSchema(TypeAdapter(Action).json_schema())]
ActorFilter = Annotated[Actor | None, WithJsonSchema(TypeAdapter(Actor).json_schema())]
DayFilter = Annotated[Day | None, WithJsonSchema(TypeAdapter(Day).json_schema())]


class AuditEntryOut(BaseModel):
    at: datetime = Field(description="when it was done (UTC)")
    actor: str = Field(description="who did it (a staff id, user:…, a token's actor)")
    action: str = Field(description="what was done, a stable key: " + ", ".join(ACTIONS))
    subject: str = Field(description="what it was done to: a staff id, a SKU…")
    location: str = Field(description="the node where it was done")
    authorised_by: str | None = Field(description="whose PIN authorised it, if anyone's")
    detail: str
    origin: str = Field(description="the replica that wrote the op")
    seq: int = Field(description="the op's number at its origin")


@router.get(
    "/api/audit",
    response_model=list[AuditEntryOut],
    operation_id="audit_trail",
    responses=error_responses(422),
)
def get_audit(
    node: NodeDep,
    _: AuditReader,
    action: Annotated[ActionFilter, Query(description="only this action")] = None,
    actor: Annotated[ActorFilter, Query(description="only what this actor did")] = None,
    since: Annotated[DayFilter, Query(alias="from", description="from this local day")] = None,
    until: Annotated[
        DayFilter, Query(alias="to", description="to this local day, included")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=API_LIMIT, description="newest first, at most")
    ] = PAGE_LIMIT,
) -> list[AuditEntryOut]:
    """The node's audit entries, newest first, matching every filter given."""
    entries = AuditQuery(action, actor, since, until).entries(node, limit=limit)
    return [
        AuditEntryOut(
            at=datetime.fromtimestamp(e.at_ms / 1000, UTC),
            actor=e.actor,
            action=e.action,
            subject=e.subject,
            location=e.location,
            authorised_by=e.authorised_by,
            detail=e.detail,
            origin=e.origin,
            seq=e.seq,
        )
        for e in entries
    ]
