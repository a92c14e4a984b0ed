"""What every Shopfloor web app (node and hub) needs from the UI layer, installed in one
call: the page renderer, CSRF protection, the vendored static files, and JSON error
responses for the app's own error hierarchy."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from web_ui.csrf import CsrfMiddleware
from web_ui.errors import error_body, status_of
from web_ui.pages import PageRenderer
from web_ui.rendering import make_templates, static_dir


def mount_web_ui(app: FastAPI, template_dirs: list[Path], *, timezone: str) -> PageRenderer:
    pages = PageRenderer(make_templates(template_dirs, timezone=timezone))
    app.state.pages = pages
    app.add_middleware(CsrfMiddleware)
    app.mount("/static", StaticFiles(directory=static_dir()), name="static")
    return pages


def json_errors(app: FastAPI, error_type: type[Exception]) -> None:
    """Answer every `error_type` raised by a route with its status and both messages
    (`web_ui.errors`)."""

    async def handler(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(error_body(exc), status_code=status_of(exc))

    app.add_exception_handler(error_type, handler)
