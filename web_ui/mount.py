"""What every Shopfloor web app (node and hub) needs from the UI layer, installed in one
call: the page renderer, the access gate (logins, tokens, CSRF, cross-site refusal:
`web_ui.access`), the vendored static files, a request-body limit, JSON error answers
(`web_ui.errors.ErrorOut`, English and Chinese) for bad input and for the app's own
error hierarchy, and an OpenAPI document of the JSON API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from web_ui.access import AccessMiddleware, Gate, NotAllowed, not_allowed_body
from web_ui.errors import (
    MAX_BODY_BYTES,
    BodyLimitMiddleware,
    error_body,
    http_error_body,
    status_of,
    validation_error_body,
)
from web_ui.pages import PageRenderer
from web_ui.rendering import make_templates, static_dir

# The OpenAPI document describes the JSON API (and the health check). Pages, their form
# posts and SSE streams are for the browser, not a contract for machines.
API_PATHS: Final = ("/api/", "/healthz")
# Served to nobody in particular: the health check and the vendored static files (the
# login page is the gate's own).
PUBLIC_PATHS: Final = ("/healthz", "/static/")


def mount_web_ui(
    app: FastAPI,
    template_dirs: list[Path],
    *,
    timezone: str,
    gate: Callable[[], Gate],
    cookie: str,
    public: tuple[str, ...] = PUBLIC_PATHS,
    max_body_bytes: int = MAX_BODY_BYTES,
    api_paths: tuple[str, ...] = API_PATHS,
) -> PageRenderer:
    """`gate` answers who a session cookie or a bearer token is (called per request, so
    the app may build it at startup); `cookie` names this app's session cookie (unique
    per app on a host); `public` are the path prefixes served without a principal."""
    pages = PageRenderer(make_templates(template_dirs, timezone=timezone))
    app.state.pages = pages
    app.add_middleware(AccessMiddleware, gate=gate, public=public, cookie=cookie)
    # Added last, so it is outermost: no middleware reads more than the limit either.
    app.add_middleware(BodyLimitMiddleware, limit=max_body_bytes)
    app.mount("/static", StaticFiles(directory=static_dir()), name="static")
    _http_errors(app)
    _document_only(app, api_paths, public)
    return pages


def json_errors(app: FastAPI, error_type: type[Exception]) -> None:
    """Answer every `error_type` raised by a route with its status and both messages
    (`web_ui.errors`)."""

    async def handler(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(error_body(exc), status_code=status_of(exc))

    app.add_exception_handler(error_type, handler)


def _http_errors(app: FastAPI) -> None:
    """Bad input refused by FastAPI or Starlette answers in the ErrorOut shape too."""

    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse(validation_error_body(exc.errors()), status_code=422)

    async def refused(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return JSONResponse(http_error_body(exc), status_code=exc.status_code, headers=exc.headers)

    async def crashed(_request: Request, _exc: Exception) -> JSONResponse:
        # Starlette re-raises the error after this answer, so the server logs it.
        return JSONResponse(
            {
                "error": "InternalError",
                "message": "Something went wrong on the server; it was logged. Retry, or "
                "tell the administrator.",
                "message_zh": "服务器出错，已记录。请重试或联系管理员。",
            },
            status_code=500,
        )

    async def not_allowed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NotAllowed)
        body = not_allowed_body(exc)
        status = 401 if body["error"] == "Unauthenticated" else 403
        page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if status == 403 and page and not request.url.path.startswith("/api/"):
            pages: PageRenderer = request.app.state.pages
            return pages.render(request, "forbidden.html", {"scope": exc.scope}, status_code=403)
        return JSONResponse(body, status_code=status)

    app.add_exception_handler(NotAllowed, not_allowed)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, refused)
    app.add_exception_handler(Exception, crashed)


def _document_only(app: FastAPI, api_paths: tuple[str, ...], public: tuple[str, ...]) -> None:
    """Leave every route outside `api_paths` out of the OpenAPI document (made on first
    request, when every router is included)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                summary=app.summary,
                description=app.description,
                routes=[
                    route
                    for route in iter_route_contexts(app.routes)
                    if (route.path or "").startswith(api_paths)
                ],
                tags=app.openapi_tags,
                servers=app.servers,
                separate_input_output_schemas=app.separate_input_output_schemas,
            )
            _document_access(app.openapi_schema, public)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_access(document: dict[str, Any], public: tuple[str, ...]) -> None:
    """Every API operation behind the gate may answer 401 (no or a bad login or token)
    and 403 (cross-site, no CSRF token, or a principal without the scope)."""
    document.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "an API token (sft_…), or a browser session cookie",
    }
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
    for path, operations in document.get("paths", {}).items():
        if path.startswith(public):
            continue
        for operation in operations.values():
            operation.setdefault("security", [{"bearer": []}])
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", {"description": "not logged in, or a bad token", **error})
            responses.setdefault(
                "403", {"description": "refused: cross-site, CSRF, or no such right", **error}
            )
