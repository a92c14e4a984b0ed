"""Device-event routing: each scanner, scale and printer feeds one workstation.

- ``config``   workstations and the device broker, from ``EdgeSettings.extra``
- ``state``    what a workstation shows (basket, staged receipt, weight, badges, alerts)
- ``router``   device bus message → workstation state; bad input recorded, never fatal
- ``catalog``  scanned code → catalog item (barcode field, else SKU)
- ``bus``      the subscription to ``sf/dev/+/event`` and ``sf/dev/+/status``
- ``service``  the above wired to a node; ``routes`` the pages, SSE stream and actions

``install(app, node)`` adds all of it to the node's app. Semantics: docs/devices.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from edge.node import Node
from edge.workstations.config import (
    DeviceBrokerAddress,
    RoutingConfig,
    WorkstationConfig,
    routing_from_settings,
)
from edge.workstations.service import WorkstationService

__all__ = [
    "DeviceBrokerAddress",
    "RoutingConfig",
    "WorkstationConfig",
    "WorkstationService",
    "install",
    "routing_from_settings",
]


def install(app: FastAPI, node: Node, routing: RoutingConfig | None = None) -> WorkstationService:
    """Add the workstation pages to ``app`` and run the device subscription with it.

    The subscription starts after the app's own lifespan start-up (the node is open) and
    stops before its shut-down (the ledger is still open). Calling it again on the same
    app returns the service already installed. ``routing`` overrides the node's settings
    (tests pass a broker address).
    """
    existing = getattr(app.state, "workstations", None)
    if isinstance(existing, WorkstationService):
        return existing
    from edge.workstations.routes import router

    service = WorkstationService(node, routing)
    app.state.workstations = service
    app.include_router(router)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as state:
            service.start()
            try:
                yield state
            finally:
                service.stop()

    app.router.lifespan_context = lifespan
    return service
