"""Staff logins at a node: staff ID and PIN, checked against the hashes the hub
replicated (so a node offline for days still logs its staff in), a new session at
every login, logout and staff switch, and a supervisor's unlock of a locked colleague.
The session ends after the node's idle minutes (`idle_lock_minutes`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from domain.access.logins import record_logout
from domain.access.sessions import MAX_MS, close_session, open_session
from edge.deps import NodeDep, PagesDep
from edge.scopes import STAFF_PREFIX
from edge.services.staff import NotAnAuthoriser, PinBackoff, PinRefused, StaffLocked, log_in, unlock
from sync_protocol.errors import ShopfloorError
from sync_protocol.hlc import system_ms
from web_ui.access import (
    current_principal,
    forget_session_cookie,
    safe_next,
    session_cookie,
    session_cookie_of,
)
from web_ui.i18n import translator

router = APIRouter()

UNLOCK_PATH = "/login/unlock"


def _status(exc: ShopfloorError) -> int:
    if isinstance(exc, PinBackoff):
        return 429
    if isinstance(exc, StaffLocked):
        return 423
    if isinstance(exc, NotAnAuthoriser):
        return 403
    return 401


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, node: NodeDep, pages: PagesDep, next: str = "/", idle: int = 0
) -> HTMLResponse:
    notice = translator(pages.locale_of(request))("auth.idle_locked") if idle else None
    return _form(request, node, pages, safe_next(next), notice=notice)


@router.post("/login", response_model=None)
def staff_log_in(
    request: Request,
    node: NodeDep,
    pages: PagesDep,
    staff_id: Annotated[str, Form(max_length=32)],
    pin: Annotated[str, Form(max_length=12)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    try:
        staff = log_in(node.ledger, staff_id.strip(), pin)
    except (PinRefused, PinBackoff, StaffLocked) as exc:
        node.ops_written()  # the failed try is an op too
        return _form(
            request,
            node,
            pages,
            safe_next(next),
            error=_text(request, pages, exc),
            status_code=_status(exc),
        )
    node.ops_written()
    engine = node.ledger.engine
    close_session(engine, session_cookie_of(request))  # a switch: the last one ends
    idle_ms = int(node.settings.idle_lock_minutes * 60_000)
    cookie, _ = open_session(
        engine, STAFF_PREFIX + staff.staff_id, now_ms=system_ms(), idle_ms=idle_ms
    )
    response = RedirectResponse(safe_next(next), status_code=303)
    session_cookie(response, request, cookie, max_age_s=MAX_MS // 1000)
    return response


@router.post("/logout")
def staff_log_out(request: Request, node: NodeDep) -> RedirectResponse:
    principal = current_principal(request)
    close_session(node.ledger.engine, session_cookie_of(request))
    if principal is not None:
        record_logout(node.ledger, principal.actor)
        node.ops_written()
    response = RedirectResponse("/login", status_code=303)
    forget_session_cookie(response, request)
    return response


@router.get(UNLOCK_PATH, response_class=HTMLResponse)
def unlock_page(request: Request, node: NodeDep, pages: PagesDep) -> HTMLResponse:
    return _unlock_form(request, node, pages)


@router.post(UNLOCK_PATH, response_class=HTMLResponse)
def staff_unlock(
    request: Request,
    node: NodeDep,
    pages: PagesDep,
    staff_id: Annotated[str, Form(max_length=32)],
    supervisor_id: Annotated[str, Form(max_length=32)],
    supervisor_pin: Annotated[str, Form(max_length=12)],
) -> HTMLResponse:
    """Public like the login page: the supervisor's own PIN is the authentication."""
    try:
        unlock(
            node.ledger,
            staff_id.strip(),
            supervisor_id=supervisor_id.strip(),
            supervisor_pin=supervisor_pin,
        )
    except (PinRefused, PinBackoff, StaffLocked, NotAnAuthoriser) as exc:
        node.ops_written()
        return _unlock_form(
            request, node, pages, error=_text(request, pages, exc), status_code=_status(exc)
        )
    node.ops_written()
    t = translator(pages.locale_of(request))
    return _unlock_form(request, node, pages, done=t("auth.unlocked", staff=staff_id.strip()))


def _text(request: Request, pages: PagesDep, exc: ShopfloorError) -> str:
    return exc.message_zh if pages.locale_of(request) == "zh-CN" else exc.message


def _place(node: NodeDep) -> str:
    return node.settings.label or node.location


def _form(
    request: Request,
    node: NodeDep,
    pages: PagesDep,
    next_path: str,
    *,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "mode": "staff",
        "next": next_path,
        "error": error,
        "notice": notice,
        "place": _place(node),
        "unlock_path": UNLOCK_PATH,
    }
    return pages.render(request, "login.html", context, status_code=status_code)


def _unlock_form(
    request: Request,
    node: NodeDep,
    pages: PagesDep,
    *,
    error: str | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {"error": error, "done": done, "place": _place(node)}
    return pages.render(request, "unlock.html", context, status_code=status_code)
