"""FastAPI dependencies as Annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from edge.node import Node
from web_ui.pages import PageRenderer


def _node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


def _pages(request: Request) -> PageRenderer:
    pages: PageRenderer = request.app.state.pages
    return pages


NodeDep = Annotated[Node, Depends(_node)]
PagesDep = Annotated[PageRenderer, Depends(_pages)]
