"""Workstation pages: ``/ws`` (all), ``/ws/{id}`` (one, live), its SSE stream and actions.

One URL, two renderings (STYLE §9): ``/ws/{id}`` is the full page, or only the panel
fragment for an htmx request. The page connects to ``/ws/{id}/stream`` (htmx SSE
extension), which sends the panel again, rendered in the viewer's language, whenever
the workstation's state changes. Actions (receive, clear, dismiss) are POSTs protected
by the CSRF middleware; htmx posts get the panel back, plain form posts a redirect.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.responses import StreamingResponse

from domain.errors import NotFound
from edge.access import StockWriter
from edge.workstations.service import WorkstationService
from sync_protocol.errors import ShopfloorError
from web_ui.pages import PageRenderer
from web_ui.rendering import locale_context

router = APIRouter(prefix="/ws")

PANEL = "_workstation_panel.html"
STREAM_POLL_S = 0.2
KEEPALIVE_S = 15.0
STREAM_MAX_S = 600.0  # the browser reconnects by itself; bounds a forgotten stream


def _service(request: Request) -> WorkstationService:
    service: WorkstationService = request.app.state.workstations
    return service


def _pages(request: Request) -> PageRenderer:
    pages: PageRenderer = request.app.state.pages
    return pages


ServiceDep = Annotated[WorkstationService, Depends(_service)]
PagesDep = Annotated[PageRenderer, Depends(_pages)]


def _page_context(service: WorkstationService, view: dict[str, Any]) -> dict[str, Any]:
    settings = service.node.settings
    return {"ws": view, "node_label": settings.label or settings.node_id}


@router.get("", response_class=HTMLResponse)
def index(request: Request, service: ServiceDep, pages: PagesDep) -> HTMLResponse:
    return pages.render(
        request,
        "workstation_index.html",
        {
            "workstations": service.workstations(),
            "unassigned": service.unassigned_devices(),
            "node_label": service.node.settings.label or service.node.settings.node_id,
            "missing": None,
        },
    )


@router.get("/{ws_id}", response_class=HTMLResponse)
def page(request: Request, ws_id: str, service: ServiceDep, pages: PagesDep) -> HTMLResponse:
    try:
        view = service.router.view(ws_id, pages.locale_of(request))
    except NotFound:
        return pages.render(
            request,
            "workstation_index.html",
            {
                "workstations": service.workstations(),
                "unassigned": service.unassigned_devices(),
                "node_label": service.node.settings.label or service.node.settings.node_id,
                "missing": ws_id,
            },
            status_code=404,
        )
    return pages.render(request, "workstation.html", _page_context(service, view), fragment=PANEL)


@router.get("/{ws_id}/state")
def state(request: Request, ws_id: str, service: ServiceDep, pages: PagesDep) -> JSONResponse:
    """The workstation as JSON (basket, alert, weight, devices) for tills and scripts."""
    view = service.router.view(ws_id, pages.locale_of(request))
    return JSONResponse(jsonable_encoder(view))


def _sse(event: str, html: str) -> str:
    data = "".join(f"data: {line}\n" for line in html.splitlines())
    return f"event: {event}\n{data}\n"


@router.get("/{ws_id}/stream")
async def stream(
    request: Request, ws_id: str, service: ServiceDep, pages: PagesDep
) -> StreamingResponse:
    service.router.state(ws_id)  # NotFound (404) before the stream starts
    locale = pages.locale_of(request)
    context = locale_context(locale)
    csrf = getattr(request.state, "csrf_token", None)
    if csrf is not None:
        context["csrf_token"] = csrf
    template = pages.env.get_template(PANEL)
    loop = asyncio.get_running_loop()

    async def events() -> AsyncIterator[str]:
        sent, quiet_since, started = -1, loop.time(), loop.time()
        while service.started and loop.time() - started < STREAM_MAX_S:
            if await request.is_disconnected():
                return
            version = service.router.version(ws_id)
            if version != sent:
                sent = version
                view = service.router.view(ws_id, locale)
                yield _sse("panel", template.render({**context, "ws": view}))
                quiet_since = loop.time()
            elif loop.time() - quiet_since > KEEPALIVE_S:
                yield ": keep-alive\n\n"
                quiet_since = loop.time()
            await asyncio.sleep(STREAM_POLL_S)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _after_action(request: Request, ws_id: str, service: ServiceDep, pages: PagesDep) -> Response:
    if request.headers.get("hx-request") == "true":
        view = service.router.view(ws_id, pages.locale_of(request))
        return pages.render(request, PANEL, _page_context(service, view))
    return RedirectResponse(f"/ws/{ws_id}", status_code=303)


@router.post("/{ws_id}/receive")
def receive(
    request: Request,
    ws_id: str,
    service: ServiceDep,
    pages: PagesDep,
    who: StockWriter,
    qty: Annotated[str, Form()] = "1",
) -> Response:
    """Receive the scanned item with the quantity typed in; errors show on the page."""
    router_ = service.router
    try:
        amount = int(qty.strip())
    except ValueError:
        router_.note(ws_id, "error", "ws.error.qty", qty=qty[:20])
    else:
        try:
            router_.confirm_receipt(ws_id, amount, actor=who.actor)
        except NotFound:
            raise
        except ShopfloorError:
            pass  # the router put the reason on the workstation
    return _after_action(request, ws_id, service, pages)


@router.post("/{ws_id}/clear")
def clear(request: Request, ws_id: str, service: ServiceDep, pages: PagesDep) -> Response:
    service.router.clear(ws_id)
    return _after_action(request, ws_id, service, pages)


@router.post("/{ws_id}/dismiss")
def dismiss(request: Request, ws_id: str, service: ServiceDep, pages: PagesDep) -> Response:
    service.router.dismiss(ws_id)
    return _after_action(request, ws_id, service, pages)
