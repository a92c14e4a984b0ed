"""The node's LAN pages: the status page (stock and sync state), refreshed by htmx."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from domain.sales.queries import sales_totals
from edge.access import StockReader
from edge.deps import NodeDep, PagesDep
from edge.views import stock_rows, sync_view

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def status_page(request: Request, node: NodeDep, pages: PagesDep, _: StockReader) -> HTMLResponse:
    sync = sync_view(node)
    last_ack = sync["last_ack_ms"]
    with node.ledger.read() as conn:
        count, total = sales_totals(conn, node.location)
    return pages.render(
        request,
        "edge_status.html",
        {
            "node_id": node.location,
            "node_label": node.settings.label or node.location,
            "sync": {
                **sync,
                "last_ack": datetime.fromtimestamp(last_ack / 1000, UTC) if last_ack else None,
            },
            "stock": stock_rows(node),
            "sales_count": count,
            "sales_total": total,
        },
        fragment="_edge_panel.html",
    )
