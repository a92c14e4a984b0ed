"""What the benchmarks push through the system: a store's sales as signed ops, pages of
them as the session sends them, and fresh databases to receive them."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloud.schema import HUB_REGISTRY
from sync_protocol.chain import GENESIS, chain_of, proof_bytes
from sync_protocol.hlc import HybridClock
from sync_protocol.ids import new_id
from sync_protocol.messages import OpsPage, encode
from sync_protocol.ops import Op
from sync_protocol.origins import HUB
from sync_protocol.session import SessionConfig
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from tests.support import postgres

STORE = "store-1"
SKU = "6902538005141"
PAGE_OPS = SessionConfig().page_ops


@dataclass(frozen=True)
class EdgeHistory:
    """Ops of one origin, signed by its key, in seq order from 1."""

    origin: str
    key: NodeKey
    ops: list[Op]

    def pages(self, n_ops: int, page_ops: int = PAGE_OPS) -> list[list[Op]]:
        """The first `n_ops` ops cut into pages as the session sends them."""
        ops = self.ops[:n_ops]
        if len(ops) < n_ops:
            raise ValueError(f"the history holds {len(self.ops)} ops, not {n_ops}")
        return [ops[i : i + page_ops] for i in range(0, n_ops, page_ops)]

    def wire_pages(self, n_ops: int) -> list[bytes]:
        """Those pages encoded as they travel (`OpsPage`, zlib-compressed JSON), each
        with the link before it and the origin's proof, as the session sends them."""
        pages = self.pages(n_ops)
        out: list[bytes] = []
        link = GENESIS
        for i, page in enumerate(pages):
            end = chain_of(link, page)
            proof = self.key.sign_bytes(proof_bytes(self.origin, page[-1].seq, end))
            message = OpsPage(
                self.origin,
                page,
                more=i < len(pages) - 1,
                after={self.origin: link},
                proof={self.origin: proof},
            )
            out.append(encode(message))
            link = end
        return out


def sale_ops(key: NodeKey, origin: str, n_ops: int) -> list[Op]:
    """What ``record_sale`` of one-line carts writes: ``sale.completed`` then its
    ``stock.moved``, alternately, signed and stamped by a real hybrid clock."""
    clock = HybridClock()
    ops: list[Op] = []
    sale_id = ""
    for seq in range(1, n_ops + 1):
        kind: str
        body: dict[str, Any]
        if seq % 2:
            sale_id = new_id()
            kind = "sale.completed"
            body = {
                "sale_id": sale_id,
                "location": origin,
                "lines": [
                    {
                        "sku": SKU,
                        "name": "可口可乐 330ml",
                        "qty": 1,
                        "unit_price_fen": 350,
                        "amount_fen": 350,
                    }
                ],
                "total_fen": 350,
                "payment": "cash",
            }
        else:
            kind = "stock.moved"
            body = {"sku": SKU, "location": origin, "qty": -1, "reason": "sale", "ref": sale_id}
        ops.append(key.sign(Op(origin, seq, clock.now(), kind, 1, "cashier-1", body)))
    return ops


def open_hub(url: str, *enrolled: EdgeHistory) -> ReplicaStore:
    """An empty hub store (own key) that knows the stores' public keys; with the hub's
    own schema (session leases), as `Hub.open` makes it."""
    hub = ReplicaStore(url, origin=HUB, key=NodeKey.generate(), registry=HUB_REGISTRY)
    for history in enrolled:
        hub.enroll(history.origin, history.key.public_b64, label=history.origin)
    return hub


class FreshDatabases:
    """Hands out a new, empty database per call, all dropped (or deleted) afterwards."""

    def __init__(self, backend: str, base: Path, stack: contextlib.ExitStack) -> None:
        self.backend = backend
        self._base = base
        self._stack = stack
        self._made = 0

    def new_url(self) -> str:
        self._made += 1
        if self.backend == "sqlite":
            return f"sqlite:///{self._base}/db{self._made}.sqlite"
        return self._stack.enter_context(postgres.throwaway_database())
