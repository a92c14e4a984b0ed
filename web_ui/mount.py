"""What every Shopfloor web app (node and hub) needs from the UI layer, installed in one
call: the page renderer, CSRF protection, the vendored static files, a request-body
limit, JSON error answers (`web_ui.errors.ErrorOut`, English and Chinese) for bad input
and for the app's own error hierarchy, and an OpenAPI document of the JSON API."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from web_ui.csrf import CsrfMiddleware
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


def mount_web_ui(
    app: FastAPI,
    template_dirs: list[Path],
    *,
    timezone: str,
    max_body_bytes: int = MAX_BODY_BYTES,
    api_paths: tuple[str, ...] = API_PATHS,
) -> PageRenderer:
    pages = PageRenderer(make_templates(template_dirs, timezone=timezone))
    app.state.pages = pages
    app.add_middleware(CsrfMiddleware)
    # Added last, so it is outermost: no middleware reads more than the limit either.
    app.add_middleware(BodyLimitMiddleware, limit=max_body_bytes)
    app.mount("/static", StaticFiles(directory=static_dir()), name="static")
    _http_errors(app)
    _document_only(app, api_paths)
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

    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, refused)
    app.add_exception_handler(Exception, crashed)


def _document_only(app: FastAPI, api_paths: tuple[str, ...]) -> None:
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
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
