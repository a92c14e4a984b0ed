"""What the status page and the API show, read from the ledger."""

from __future__ import annotations

from typing import Any

from domain.catalog.queries import catalog as read_catalog
from domain.stock.queries import stock_levels
from edge.node import Node


def stock_rows(node: Node) -> list[dict[str, Any]]:
    """Every catalog item with its stock on hand here, items with stock first."""
    with node.ledger.read() as conn:
        levels = {
            sku: qty for (sku, loc), qty in stock_levels(conn).items() if loc == node.location
        }
        catalog = read_catalog(conn)
    rows = [
        {
            "sku": sku,
            "name": str(catalog.get(sku, {}).get("name") or sku),
            "qty": levels.get(sku, 0),
            "price_fen": catalog.get(sku, {}).get("price_fen"),
        }
        for sku in sorted(set(catalog) | set(levels))
    ]
    return sorted(rows, key=lambda r: (r["qty"] == 0, r["sku"]))


def sync_view(node: Node) -> dict[str, Any]:
    if node.sync is None:
        return {
            "node": node.location,
            "connected": False,
            "ops_waiting": node.ledger.head(node.location),
            "last_ack_ms": None,
            "head": node.ledger.head(node.location),
            "writes_held": node.ledger.local_writes_held is not None,
            "writes_held_reason": node.ledger.local_writes_held,
            "blocked_origins": _blocked(node),
        }
    status = node.sync.status()
    return {
        "node": node.location,
        "connected": status.connected,
        "ops_waiting": status.ops_waiting,
        "last_ack_ms": status.last_ack_ms,
        "head": status.head,
        "writes_held": status.writes_held,
        "writes_held_reason": node.ledger.local_writes_held,
        "blocked_origins": _blocked(node),
    }


def _blocked(node: Node) -> list[str]:
    return [str(b["origin"]) for b in node.ledger.blocked_origins()]
