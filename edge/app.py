"""The node's web app factory: `create_app(settings)` builds everything; nothing is
built at import time, so tests make as many nodes as they need."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from edge import api, pages
from edge.node import Node
from edge.settings import EdgeSettings
from sync_protocol.errors import ShopfloorError, http_status_of
from web_ui.csrf import CsrfMiddleware
from web_ui.pages import PageRenderer
from web_ui.rendering import make_templates, static_dir

TEMPLATES = Path(__file__).parent / "templates"


def create_app(settings: EdgeSettings, *, with_sync: bool = True) -> FastAPI:
    node = Node.open(settings, with_sync=with_sync)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        node.start()
        try:
            yield
        finally:
            node.close()

    app = FastAPI(title=f"Shopfloor node {settings.node_id}", lifespan=lifespan)
    app.state.node = node
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
        return {"status": "ok", "node": settings.node_id}

    return app
