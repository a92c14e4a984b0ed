"""Who is asking, and may they: one gate in front of every route of a web app.

- **Cross-site requests are refused**, whether or not they carry cookies: a
  state-changing request whose `Sec-Fetch-Site` says another site, or whose `Origin` is
  not this app's own, gets 403 before anything reads it.
- **Everyone is someone**: a request names its principal by a session cookie (a
  browser: an HQ user, a staff member) or an `Authorization: Bearer` token (a till, a
  script, an integration). Without one, a page asks for a login (303 to the login page)
  and the API answers 401; only the paths the app declares public (login, health, the
  static files) are served to nobody.
- **CSRF**: a state-changing request from a browser session must echo the session's
  CSRF token (`X-CSRF-Token` header, which htmx sends from `hx-headers` on <body>, or a
  `csrf_token` form field). Before login (the login form itself) the token is a
  double-submit cookie. A bearer request carries no ambient credential and needs none.

What a session cookie or token *is* the app decides (`Gate`); web_ui imports nothing of
ours. Routes ask for a scope with `require("catalog:write")`; the principal's `actor`
is what every op it writes names.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Protocol
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import Depends, Request
from starlette.datastructures import Headers
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

SESSION_COOKIE: Final = "sf_session"  # + the app's own suffix (`mount_web_ui(cookie=…)`)
CSRF_COOKIE: Final = "sf_csrf"  # before login only: the login form's double submit
CSRF_HEADER: Final = "x-csrf-token"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_SAME_SITE: Final = frozenset({"same-origin", "none"})  # `none`: typed URL, bookmark


@dataclass(frozen=True)
class Principal:
    """Who a request acts for."""

    kind: str  # "user" (HQ), "staff" (a node's), "token", "device"
    id: str
    name: str
    actor: str  # what the ops it writes name as their actor
    scopes: frozenset[str]
    role: str | None = None
    csrf_token: str | None = None  # a browser session's; None for a bearer token
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


class Gate(Protocol):
    """The app's answer to "who is this": a live session or token, or None."""

    def from_session(self, cookie: str) -> Principal | None: ...

    def from_bearer(self, secret: str) -> Principal | None: ...


class AccessMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        gate: Callable[[], Gate],
        public: tuple[str, ...],
        cookie: str,
        login_path: str = "/login",
    ) -> None:
        self.app = app
        # Cookies ignore ports: a hub and two nodes on one host (the demo, a shop's one
        # box) would log each other out under one name.
        self.cookie = cookie
        self.gate = gate  # resolved per request: the app builds its gate at startup
        self.public = public
        self.login_path = login_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        method = request.method
        unsafe = method not in SAFE_METHODS
        if unsafe and _cross_site(request):
            await _refuse(403, "CrossSite", _CROSS_SITE, scope, receive, send)
            return

        principal, bearer = self._principal(request)
        if bearer and principal is None:
            await _refuse(401, "Unauthenticated", _BAD_TOKEN, scope, receive, send, bearer=True)
            return
        path = request.url.path
        public = path == self.login_path or path.startswith(self.public)
        if principal is None and not public:
            if request.headers.get("hx-request") == "true":
                # htmx (a panel polling, a form) follows HX-Redirect before it looks at
                # the status: the whole page goes to the login, not just the panel.
                current = urlsplit(request.headers.get("hx-current-url", "") or "/")
                back = safe_next(current.path + (f"?{current.query}" if current.query else ""))
                await _refuse(
                    401,
                    "Unauthenticated",
                    _NO_LOGIN,
                    scope,
                    receive,
                    send,
                    extra={"HX-Redirect": f"{self.login_path}?next={quote(back, safe='/')}"},
                )
                return
            if _wants_page(request):
                target = path + (f"?{request.url.query}" if request.url.query else "")
                response: Response = RedirectResponse(
                    f"{self.login_path}?next={quote(target, safe='/')}", status_code=303
                )
                await response(scope, receive, send)
                return
            await _refuse(401, "Unauthenticated", _NO_LOGIN, scope, receive, send, bearer=True)
            return

        state = scope.setdefault("state", {})
        state["principal"] = principal
        state["session_cookie"] = self.cookie
        anonymous_token = None
        if principal is not None:
            # A bearer request needs no token (nothing ambient to forge); its pages'
            # forms get an empty one.
            state["csrf_token"] = principal.csrf_token or ""
        else:
            anonymous_token = request.cookies.get(CSRF_COOKIE)
            state["csrf_token"] = anonymous_token or secrets.token_urlsafe(24)

        expected = state["csrf_token"] if unsafe and not bearer else None
        if expected is not None:
            ok, body = await _csrf_echoed(request, expected)
            if not ok or (principal is None and anonymous_token is None):
                await _refuse(403, "csrf", _CSRF, scope, receive, send)
                return
            if body:
                receive = _replay(body)

        new_cookie = state["csrf_token"] if principal is None and anonymous_token is None else None

        async def send_with_cookie(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start" and new_cookie and _is_html(message):
                secure = "; Secure" if scope.get("scheme") == "https" else ""
                cookie = f"{CSRF_COOKIE}={new_cookie}; Path=/; HttpOnly; SameSite=Strict{secure}"
                message["headers"] = [
                    *message.get("headers", []),
                    (b"set-cookie", cookie.encode("latin-1")),
                ]
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _principal(self, request: Request) -> tuple[Principal | None, bool]:
        """(who, whether they came by bearer token)."""
        authorization = request.headers.get("authorization")
        if authorization is not None:
            scheme, _, secret = authorization.partition(" ")
            if scheme.lower() != "bearer" or not secret.strip():
                return None, True
            return self.gate().from_bearer(secret.strip()), True
        cookie = request.cookies.get(self.cookie)
        return (self.gate().from_session(cookie) if cookie else None), False


def session_cookie_of(request: Request) -> str | None:
    """The session id the browser sent this app, if any."""
    return request.cookies.get(request.state.session_cookie)


def session_cookie(response: Response, request: Request, value: str, *, max_age_s: int) -> None:
    """Give the browser its session: HttpOnly, SameSite=Lax, Secure when served over TLS."""
    response.set_cookie(
        request.state.session_cookie,
        value,
        max_age=max_age_s,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def forget_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(request.state.session_cookie, path="/")


def safe_next(target: str | None) -> str:
    """Where to go after login: a path on this site, never another one (`//evil`)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class NotAllowed(Exception):
    """A known principal without the scope a route needs (answered 403)."""

    def __init__(self, scope: str) -> None:
        super().__init__(scope)
        self.scope = scope


def _principal_of(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:  # a public route asked for one: nobody is logged in
        raise NotAllowed("login")
    return principal


PrincipalDep = Annotated[Principal, Depends(_principal_of)]
"""The logged-in principal (a route behind the gate always has one)."""


def require(scope: str) -> Any:
    """A dependency: the principal, when it holds `scope`; else 403."""

    def check(request: Request) -> Principal:
        principal = _principal_of(request)
        if not principal.allows(scope):
            raise NotAllowed(scope)
        return principal

    return Depends(check)


def not_allowed_body(exc: NotAllowed) -> dict[str, str]:
    if exc.scope == "login":
        return {"error": "Unauthenticated", **_NO_LOGIN}
    return {
        "error": "Forbidden",
        "message": f"You may not do this (it needs {exc.scope}).",
        "message_zh": f"您无权执行此操作（需要权限 {exc.scope}）。",
    }


def current_principal(request: Request) -> Principal | None:
    """The principal of a request, or None on a public route (for templates)."""
    return getattr(request.state, "principal", None)


_CROSS_SITE: Final = {
    "message": "Refused: this request came from another site.",
    "message_zh": "已拒绝：该请求来自其他网站。",
}
_NO_LOGIN: Final = {
    "message": "Log in first (a session, or an API token as Authorization: Bearer).",
    "message_zh": "请先登录（或使用 API 令牌：Authorization: Bearer）。",
}
_BAD_TOKEN: Final = {
    "message": "The API token is unknown, revoked or malformed.",
    "message_zh": "API 令牌无效、已吊销或格式错误。",
}
_CSRF: Final = {
    "message": "Missing or wrong CSRF token; reload the page and try again.",
    "message_zh": "页面已过期，请刷新后重试。",
}


def _cross_site(request: Request) -> bool:
    headers = request.headers
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in _SAME_SITE:
        return True
    origin = headers.get("origin")
    if origin is None:
        return False  # not a browser's cross-site form (those send Origin): a machine client
    return origin != _own_origin(request.url.scheme, headers)


def _own_origin(scheme: str, headers: Headers) -> str:
    return f"{scheme}://{headers.get('host', '')}"


def _wants_page(request: Request) -> bool:
    if request.url.path.startswith("/api/") or request.method not in SAFE_METHODS:
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or request.headers.get("hx-request") == "true"


async def _csrf_echoed(request: Request, expected: str) -> tuple[bool, bytes]:
    sent = request.headers.get(CSRF_HEADER)
    body = b""
    if sent is None and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):
        body = await request.body()
        form = parse_qs(body.decode("utf-8", "replace"))
        sent = form["csrf_token"][0] if form.get("csrf_token") else None
    return sent is not None and secrets.compare_digest(sent, expected), body


async def _refuse(
    status: int,
    error: str,
    text: dict[str, str],
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    bearer: bool = False,
    extra: dict[str, str] | None = None,
) -> None:
    headers = {"WWW-Authenticate": "Bearer"} if bearer and status == 401 else {}
    headers.update(extra or {})
    response = JSONResponse({"error": error, **text}, status_code=status, headers=headers)
    await response(scope, receive, send)


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
