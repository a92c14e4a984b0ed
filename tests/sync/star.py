"""A hub and a node syncing through the real sessions and codec, in memory, for the
compaction and snapshot tests: `Star.sync()` pumps messages both ways until quiet."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from domain.registry import REGISTRY
from sync_protocol.messages import Message, decode, encode
from sync_protocol.origins import HUB
from sync_protocol.session import SessionConfig, SyncSession, only_from, only_from_origin
from sync_protocol.store import ReplicaStore

# Small pages, peer state saved at once: a test sees what a long-running node would.
CONFIG = SessionConfig(page_ops=50, window_pages=4, save_peer_every=0.0)


@dataclass
class Star:
    hub: ReplicaStore
    node: ReplicaStore
    now: float = field(default_factory=time.time)  # sessions get wall time, as in the field
    hub_side: SyncSession = field(init=False)
    node_side: SyncSession = field(init=False)

    def __post_init__(self) -> None:
        self.reconnect()

    def reconnect(self) -> None:
        """New sessions, as after a restart of both (state comes from the stores)."""
        node = self.node.origin
        self.hub_side = SyncSession(
            self.hub, node, offer={HUB, node}, accept=only_from_origin(node), config=CONFIG
        )
        self.node_side = SyncSession(
            self.node, HUB, offer={node}, accept=only_from({HUB, node}), config=CONFIG
        )

    def sync(self, *, rounds: int = 500) -> None:
        """Connect and exchange until neither side has anything to say; peer state saved."""
        to_hub: list[Message] = self.node_side.connect(self.now)
        to_node: list[Message] = self.hub_side.connect(self.now)
        for _ in range(rounds):
            if not to_hub and not to_node:
                break
            self.now += 0.01
            next_hub, next_node = [], []
            for msg in to_hub:
                next_node += self.hub_side.receive(decode(encode(msg)), self.now)
            for msg in to_node:
                next_hub += self.node_side.receive(decode(encode(msg)), self.now)
            to_hub, to_node = next_hub, next_node
        else:
            raise AssertionError("the sessions did not go quiet")
        self.node_side.disconnect()
        self.hub_side.disconnect()


def sell(store: ReplicaStore, sku: str, n: int = 1, *, price_fen: int = 350) -> None:
    """`n` one-line sales of `sku` (a sale and its stock move in one transaction each)."""
    for _ in range(n):
        with store.write() as txn:
            sale = txn.append(
                "sale.completed",
                {
                    "sale_id": f"s-{store.head(store.origin) + 1}",
                    "location": store.origin,
                    "lines": [
                        {
                            "sku": sku,
                            "name": sku,
                            "qty": 1,
                            "unit_price_fen": price_fen,
                            "amount_fen": price_fen,
                        }
                    ],
                    "total_fen": price_fen,
                },
                "cashier",
            )
            txn.append(
                "stock.moved",
                {"sku": sku, "location": store.origin, "qty": -1, "reason": "sale"},
                sale.actor,
            )


def set_price(hub: ReplicaStore, sku: str, price_fen: int) -> None:
    with hub.write() as txn:
        txn.append(
            "catalog.item_set", {"sku": sku, "fields": {"name": sku, "price_fen": price_fen}}, "hq"
        )


def projections(store: ReplicaStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every projection table of the node's areas, in key order."""
    with store.read() as conn:
        return {
            t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in REGISTRY.tables()
        }
