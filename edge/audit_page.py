"""The node's audit trail: who did what here, when, and who authorised it, read from the
node's own ledger (its own ops and what it received from the hub), so a supervisor can
look into a till's day with the hub unreachable. A page with filters (`GET /audit`), the
same entries as CSV for Excel (`GET /audit.csv`), and as JSON (`GET /api/audit`).

Days are the node's local days (`EdgeSettings.timezone`), `to` included: "from 12-01 to
12-01" is that whole day at the store. The search is `domain.audit.search`, as at the hub."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from domain.audit.search import (
    TEXT_MAX,
    ActionFilter,
    ActorFilter,
    AuditEntryOut,
    AuditForm,
    AuditSearch,
    DayFilter,
    csv_filename,
)
from domain.audit.trail import ACTIONS, AuditEntry, audit_csv
from domain.staff.queries import staff_accounts
from edge.access import AuditReader
from edge.deps import NodeDep, PagesDep
from edge.node import Node
from web_ui.errors import error_responses

router = APIRouter()

PAGE_LIMIT: Final = 200
API_LIMIT: Final = 500
CSV_LIMIT: Final = 10_000


def _found(node: Node, search: AuditSearch, limit: int) -> list[AuditEntry]:
    with node.ledger.read() as conn:
        return search.entries(conn, timezone=node.settings.timezone, limit=limit)


# --- the page and its CSV -----------------------------------------------------------------

FormText = Annotated[str, Query(max_length=TEXT_MAX)]


def _form(
    action: FormText = "",
    actor: FormText = "",
    since: Annotated[str, Query(alias="from", max_length=TEXT_MAX)] = "",
    until: Annotated[str, Query(alias="to", max_length=TEXT_MAX)] = "",
) -> AuditForm:
    return AuditForm.read(action, actor, since=since, until=until)


FormDep = Annotated[AuditForm, Depends(_form)]


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, node: NodeDep, pages: PagesDep, _: AuditReader, form: FormDep
) -> HTMLResponse:
    found = _found(node, form.search, PAGE_LIMIT + 1) if form.search else []
    with node.ledger.read() as conn:
        names = {account.staff_id: account.name for account in staff_accounts(conn)}
    query = request.url.query
    context: dict[str, Any] = {
        "node_id": node.location,
        "node_label": node.settings.label or node.location,
        "filters": form,
        "actions": ACTIONS,
        "names": names,
        "entries": [AuditEntryOut.of(entry) for entry in found[:PAGE_LIMIT]],
        "more": len(found) > PAGE_LIMIT,
        "limit": PAGE_LIMIT,
        "csv_href": "/audit.csv" + (f"?{query}" if query else ""),
    }
    return pages.render(request, "audit.html", context, status_code=422 if form.problems else 200)


@router.get("/audit.csv")
def audit_csv_download(node: NodeDep, _: AuditReader, form: FormDep) -> Response:
    """The entries the page shows with the same filters (up to CSV_LIMIT), for Excel."""
    if form.search is None:
        text = f"unreadable filters: {', '.join(form.unreadable)}\n"
        return Response(text, status_code=422, media_type="text/plain; charset=utf-8")
    now = datetime.now(ZoneInfo(node.settings.timezone))
    name = csv_filename(node.location, now)
    return Response(
        audit_csv(_found(node, form.search, CSV_LIMIT)),
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
    node: NodeDep,
    _: AuditReader,
    action: Annotated[ActionFilter, Query(description="only this action")] = None,
    actor: Annotated[ActorFilter, Query(description="only what this actor did")] = None,
    since: Annotated[DayFilter, Query(alias="from", description="from this local day")] = None,
    until: Annotated[
        DayFilter, Query(alias="to", description="to this local day, included")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=API_LIMIT, description="newest first, at most this many")
    ] = PAGE_LIMIT,
) -> list[AuditEntryOut]:
    """The node's audit entries, newest first, matching every filter given."""
    found = _found(node, AuditSearch(action, actor, since=since, until=until), limit)
    return [AuditEntryOut.of(entry) for entry in found]
