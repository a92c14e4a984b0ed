"""What the HQ console shows: consolidated stock and each node's sync state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cloud.registry import enrolled_nodes
from domain.catalog.queries import catalog as read_catalog
from domain.stock.queries import stock_levels
from sync_protocol.origins import HUB
from sync_protocol.store import ReplicaStore


@dataclass(frozen=True)
class NodeRow:
    node_id: str
    label: str
    connected: bool
    last_seen: datetime | None
    backlog: int  # ops the node has written that the hub does not hold yet (as last reported)
    held: int  # the node's ops the hub holds
    to_send: int  # hub ops the node has not acknowledged
    # Why the hub applies nothing more of this node (two histories of it met), or None.
    blocked_reason: str | None


def consolidated_stock(store: ReplicaStore) -> dict[str, Any]:
    """Stock per SKU × location, with names, location labels and totals."""
    with store.read() as conn:
        levels = stock_levels(conn)
        catalog = read_catalog(conn)
    labels = {n.node_id: n.label for n in enrolled_nodes(store)}
    locations = sorted({loc for _, loc in levels} | set(labels))
    skus = sorted(set(catalog) | {sku for sku, _ in levels})
    rows: list[dict[str, Any]] = []
    for sku in skus:
        per_location = {loc: levels.get((sku, loc), 0) for loc in locations}
        rows.append(
            {
                "sku": sku,
                "name": str(catalog.get(sku, {}).get("name") or sku),
                "price_fen": catalog.get(sku, {}).get("price_fen"),
                "by_location": per_location,
                "total": sum(per_location.values()),
            }
        )
    return {
        "locations": [{"id": loc, "label": labels.get(loc, loc)} for loc in locations],
        "rows": rows,
        "totals": {loc: sum(r["by_location"][loc] for r in rows) for loc in locations},
        "grand_total": sum(r["total"] for r in rows),
    }


def node_rows(store: ReplicaStore) -> list[NodeRow]:
    vv = store.version_vector()
    blocked = {str(b["origin"]): str(b["reason"]) for b in store.blocked_origins()}
    out = []
    for node in enrolled_nodes(store):
        peer = store.peer_state(node.node_id)
        held = vv.get(node.node_id, 0)
        reported = peer.vv.get(node.node_id, 0)
        out.append(
            NodeRow(
                node_id=node.node_id,
                label=node.label,
                connected=peer.connected,
                last_seen=datetime.fromtimestamp(peer.last_seen_ms / 1000, UTC)
                if peer.last_seen_ms
                else None,
                backlog=max(0, reported - held),
                held=held,
                to_send=max(0, vv.get(HUB, 0) - peer.vv.get(HUB, 0)),
                blocked_reason=blocked.get(node.node_id),
            )
        )
    return out
