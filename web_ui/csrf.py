"""CSRF protection by double submit: a random token in a cookie that a page must echo
back in the `X-CSRF-Token` header (htmx sends it from `hx-headers` on <body>) or in a
`csrf_token` form field. A cross-site page can make the browser send the cookie but
cannot read it, so it cannot echo it.

Requests without cookies at all (machine clients: the JSON API used by tills, scripts
and tests) are not browser sessions and pass; staff auth will gate them separately.
"""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

CSRF_COOKIE = "sf_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        token = request.cookies.get(CSRF_COOKIE)
        new_token = token is None
        if token is None:
            token = secrets.token_urlsafe(24)
        scope.setdefault("state", {})["csrf_token"] = token

        if request.method not in SAFE_METHODS and request.cookies:
            sent = request.headers.get(CSRF_HEADER)
            body = b""
            if sent is None and request.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"
            ):
                body = await request.body()
                form = parse_qs(body.decode("utf-8", "replace"))
                sent = form["csrf_token"][0] if form.get("csrf_token") else None
            if new_token or sent is None or not secrets.compare_digest(sent, token):
                response = JSONResponse(
                    {
                        "error": "csrf",
                        "message": "Missing or wrong CSRF token; reload the page and try again.",
                        "message_zh": "页面已过期，请刷新后重试。",
                    },
                    status_code=403,
                )
                await response(scope, receive, send)
                return
            if body:
                receive = _replay(body)

        async def send_with_cookie(message: MutableMapping[str, Any]) -> None:
            # Only pages hand out the cookie: a till or script calling the JSON API
            # never becomes a "browser session" that would then need the token.
            if message["type"] == "http.response.start" and new_token and _is_html(message):
                headers = list(message.get("headers", []))
                cookie = f"{CSRF_COOKIE}={token}; Path=/; SameSite=Strict"
                headers.append((b"set-cookie", cookie.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _is_html(message: MutableMapping[str, Any]) -> bool:
    for name, value in message.get("headers", []):
        if name.lower() == b"content-type":
            return bool(value.startswith(b"text/html"))
    return False


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> MutableMapping[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
