"""The hub's web app factory (console + JSON API); nothing is built at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from cloud import admin_pages, api, audit_page, login, pages, snapshots, staff_pages
from cloud.access import HubGate
from cloud.hub import Hub
from cloud.settings import HubSettings
from sync_protocol.errors import ShopfloorError
from web_ui.access import SESSION_COOKIE
from web_ui.mount import PUBLIC_PATHS, json_errors, mount_web_ui

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
    gate = HubGate(hub.store.engine)
    mount_web_ui(
        app,
        [TEMPLATES],
        timezone=settings.timezone,
        gate=lambda: gate,
        cookie=f"{SESSION_COOKIE}_hub",
        # A node fetches its snapshot by its own signed proof, not a login.
        public=(*PUBLIC_PATHS, snapshots.PREFIX),
    )
    json_errors(app, ShopfloorError)
    app.include_router(api.router)
    app.include_router(snapshots.router)
    app.include_router(login.router)
    app.include_router(pages.router)
    app.include_router(admin_pages.router)
    app.include_router(staff_pages.router)
    app.include_router(audit_page.router)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
