"""Pure stock rules: on hand is the sum of the moves."""

from __future__ import annotations

from collections.abc import Iterable

from domain.stock.kinds import MOVED
from sync_protocol.merge import unique
from sync_protocol.ops import Op


def stock_on_hand(ops: Iterable[Op]) -> dict[tuple[str, str], int]:
    """Fold `stock.moved` facts to quantity per (sku, location)."""
    totals: dict[tuple[str, str], int] = {}
    for op in unique(ops):
        if op.kind != MOVED.name:
            continue
        key = (str(op.body["sku"]), str(op.body["location"]))
        totals[key] = totals.get(key, 0) + int(op.body["qty"])
    return totals


def deltas(moves: Iterable[tuple[str, str, int]]) -> dict[tuple[str, str], int]:
    """Net change per (sku, location) of a batch of moves."""
    out: dict[tuple[str, str], int] = {}
    for sku, location, qty in moves:
        out[(sku, location)] = out.get((sku, location), 0) + qty
    return out
