"""The node's web app factory: `create_app(settings)` builds everything; nothing is
built at import time, so tests make as many nodes as they need."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from edge import api, audit_page, authorise, checkout_api, login, pages
from edge.access import NodeGate
from edge.deps import Writers
from edge.node import Node
from edge.settings import EdgeSettings
from edge.workstations import install as install_workstations
from sync_protocol.errors import ShopfloorError
from web_ui.access import SESSION_COOKIE
from web_ui.mount import PUBLIC_PATHS, json_errors, mount_web_ui

TEMPLATES = Path(__file__).parent / "templates"


def create_app(settings: EdgeSettings, *, with_sync: bool = True) -> FastAPI:
    node = Node.open(settings, with_sync=with_sync)
    writers = Writers()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        node.start()
        try:
            yield
        finally:
            writers.close()  # the writes under way finish before the ledger closes
            node.close()

    app = FastAPI(title=f"Shopfloor node {settings.node_id}", lifespan=lifespan)
    app.state.node = node
    app.state.writers = writers
    idle_ms = int(settings.idle_lock_minutes * 60_000)
    app.state.idle_lock_ms = idle_ms  # a staff member's pages lock in the browser too
    gate = NodeGate(node.ledger, idle_ms=idle_ms)
    mount_web_ui(
        app,
        [TEMPLATES],
        timezone=settings.timezone,
        gate=lambda: gate,
        cookie=f"{SESSION_COOKIE}_{settings.node_id}",
        public=(*PUBLIC_PATHS, "/login/"),  # the login page and the supervisor's unlock
    )
    json_errors(app, ShopfloorError)
    app.include_router(api.router)
    app.include_router(checkout_api.router)
    app.include_router(login.router)
    app.include_router(pages.router)
    app.include_router(audit_page.router)
    app.include_router(authorise.router)
    install_workstations(app, node)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "node": settings.node_id}

    return app
