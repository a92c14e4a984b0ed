"""Logging in and out of the HQ console: password login (with back-off), a new session
at every login, logout. Each login, wrong password and logout is recorded as an op."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cloud.accounts.users import LoginRefused, authenticate, user_named
from cloud.deps import HubDep, PagesDep
from domain.access.logins import record_logout, record_user_login
from domain.access.sessions import MAX_MS, close_session, open_session
from sync_protocol.hlc import system_ms
from web_ui.access import (
    current_principal,
    forget_session_cookie,
    safe_next,
    session_cookie,
    session_cookie_of,
)

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, pages: PagesDep, next: str = "/") -> HTMLResponse:
    return _form(request, pages, safe_next(next))


@router.post("/login", response_model=None)
def log_in(
    request: Request,
    hub: HubDep,
    pages: PagesDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=128)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    engine = hub.store.engine
    now = system_ms()
    try:
        user = authenticate(engine, username, password, now_ms=now)
    except LoginRefused as exc:
        known = user_named(engine, username) is not None
        record_user_login(hub.store, username, ok=False, known=known)
        hub.ops_written()
        locale = pages.locale_of(request)
        text = exc.message_zh if locale == "zh-CN" else exc.message
        return _form(request, pages, safe_next(next), error=text, status_code=401)
    close_session(engine, session_cookie_of(request))  # never reuse an old id
    cookie, _session = open_session(engine, user.principal, now_ms=now)
    record_user_login(hub.store, user.username, ok=True, known=True)
    hub.ops_written()
    response = RedirectResponse(safe_next(next), status_code=303)
    session_cookie(response, request, cookie, max_age_s=MAX_MS // 1000)
    return response


@router.post("/logout")
def log_out(request: Request, hub: HubDep) -> RedirectResponse:
    principal = current_principal(request)
    close_session(hub.store.engine, session_cookie_of(request))
    if principal is not None:
        record_logout(hub.store, principal.actor)
        hub.ops_written()
    response = RedirectResponse("/login", status_code=303)
    forget_session_cookie(response, request)
    return response


def _form(
    request: Request,
    pages: PagesDep,
    next_path: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return pages.render(
        request,
        "login.html",
        {"mode": "user", "next": next_path, "error": error, "notice": None, "place": None},
        status_code=status_code,
    )
