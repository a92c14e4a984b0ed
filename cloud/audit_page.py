"""The audit trail at the hub (audit:read), over every node's ops the hub holds: a page
with filters (action, actor, location, from–to day), the same search as CSV for Excel,
and as JSON (`GET /api/audit`). Days are calendar days in the hub's display timezone,
both ends included; the search is `domain.audit.search`, the trail `domain.audit.trail`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from cloud.access import AuditReader
from cloud.deps import HubDep, PagesDep
from cloud.hub import Hub
from cloud.views import node_rows
from domain.audit.search import (
    TEXT_MAX,
    ActionFilter,
    ActorFilter,
    AuditEntryOut,
    AuditForm,
    AuditSearch,
    DayFilter,
    LocationFilter,
    csv_filename,
)
from domain.audit.trail import ACTIONS, AuditEntry, audit_csv
from sync_protocol.origins import HUB
from web_ui.errors import error_responses

router = APIRouter()

PAGE_LIMIT: Final = 200
API_LIMIT: Final = 1000
CSV_LIMIT: Final = 50_000


def _found(hub: Hub, search: AuditSearch, limit: int) -> list[AuditEntry]:
    with hub.store.read() as conn:
        return search.entries(conn, timezone=hub.settings.timezone, limit=limit)


# --- the page and its CSV -----------------------------------------------------------------

FormText = Annotated[str, Query(max_length=TEXT_MAX)]


def _form(
    action: FormText = "",
    actor: FormText = "",
    location: FormText = "",
    since: Annotated[str, Query(alias="from", max_length=TEXT_MAX)] = "",
    until: Annotated[str, Query(alias="to", max_length=TEXT_MAX)] = "",
) -> AuditForm:
    return AuditForm.read(action, actor, location, since, until)


FormDep = Annotated[AuditForm, Depends(_form)]


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, hub: HubDep, pages: PagesDep, _: AuditReader, form: FormDep
) -> HTMLResponse:
    found = _found(hub, form.search, PAGE_LIMIT + 1) if form.search else []
    query = request.url.query
    context: dict[str, Any] = {
        "filters": form,
        "actions": ACTIONS,
        "locations": [HUB, *(n.node_id for n in node_rows(hub.store))],
        "entries": [AuditEntryOut.of(entry) for entry in found[:PAGE_LIMIT]],
        "more": len(found) > PAGE_LIMIT,
        "limit": PAGE_LIMIT,
        "csv_href": "/audit.csv" + (f"?{query}" if query else ""),
    }
    return pages.render(request, "audit.html", context, status_code=422 if form.problems else 200)


@router.get("/audit.csv")
def audit_csv_download(hub: HubDep, _: AuditReader, form: FormDep) -> Response:
    """The entries the page shows with the same filters (up to CSV_LIMIT), for Excel."""
    if form.search is None:
        text = f"unreadable filters: {', '.join(form.unreadable)}\n"
        return Response(text, status_code=422, media_type="text/plain; charset=utf-8")
    now = datetime.now(ZoneInfo(hub.settings.timezone))
    name = csv_filename(HUB, now)
    return Response(
        audit_csv(_found(hub, form.search, CSV_LIMIT)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- the JSON API -------------------------------------------------------------------------


@router.get(
    "/api/audit",
    response_model=list[AuditEntryOut],
    operation_id="audit_trail",
    responses=error_responses(422),
)
def get_audit(
    hub: HubDep,
    _: AuditReader,
    action: Annotated[ActionFilter, Query(description="only entries of this action")] = None,
    actor: Annotated[ActorFilter, Query(description="only this actor")] = None,
    location: Annotated[LocationFilter, Query(description="only this node")] = None,
    since: Annotated[
        DayFilter, Query(alias="from", description="from this day (hub's timezone), included")
    ] = None,
    until: Annotated[
        DayFilter, Query(alias="to", description="to this day (hub's timezone), included")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=API_LIMIT, description="newest first, at most this many")
    ] = PAGE_LIMIT,
) -> list[AuditEntryOut]:
    """The audit entries of every node, newest first, matching every filter given."""
    found = _found(hub, AuditSearch(action, actor, location, since, until), limit)
    return [AuditEntryOut.of(entry) for entry in found]
