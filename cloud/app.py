"""The hub's web app factory (console + JSON API); nothing is built at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from cloud import api, pages
from cloud.hub import Hub
from cloud.settings import HubSettings
from sync_protocol.errors import ShopfloorError, http_status_of
from web_ui.csrf import CsrfMiddleware
from web_ui.pages import PageRenderer
from web_ui.rendering import make_templates, static_dir

TEMPLATES = Path(__file__).parent / "templates"


def create_app(settings: HubSettings, *, with_ingest: bool = True) -> FastAPI:
    hub = Hub.open(settings, with_ingest=with_ingest)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        hub.start()
        try:
            yield
        finally:
            hub.close()

    app = FastAPI(title="Shopfloor hub", lifespan=lifespan)
    app.state.hub = hub
    app.state.pages = PageRenderer(make_templates([TEMPLATES], timezone=settings.timezone))
    app.add_middleware(CsrfMiddleware)
    app.mount("/static", StaticFiles(directory=static_dir()), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)

    @app.exception_handler(ShopfloorError)
    async def shopfloor_error(_request: Request, exc: ShopfloorError) -> JSONResponse:
        return JSONResponse(
            {"error": type(exc).__name__, "message": exc.message, "message_zh": exc.message_zh},
            status_code=http_status_of(exc),
        )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
