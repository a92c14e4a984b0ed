"""FastAPI dependencies as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from cloud.hub import Hub
from web_ui.pages import PageRenderer


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _pages(request: Request) -> PageRenderer:
    pages: PageRenderer = request.app.state.pages
    return pages


HubDep = Annotated[Hub, Depends(_hub)]
PagesDep = Annotated[PageRenderer, Depends(_pages)]
