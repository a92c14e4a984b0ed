"""Edge recording: a till's write path on a real SQLite file, against bare sqlite3.

Ours: ``record_sale`` of a one-line cart (``sale.completed`` + ``stock.moved``: 2 signed
ops, their projections, one transaction) and ``receive_stock`` (1 op), through
``ReplicaStore`` in WAL mode with ``synchronous=FULL``.
Baseline: sqlite3 on a file with the same pragmas, one single-row INSERT per
transaction, as many transactions as ours made. Ratio = our transactions/s ÷ theirs.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.registry import REGISTRY
from domain.sales.rules import CartLine
from edge.services.sales import record_sale
from edge.services.stock import receive_stock
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from tests.bench.baselines import RawSqliteLedger
from tests.bench.report import Results, Row, Table, interleave, timed
from tests.bench.workload import SKU, STORE, sale_ops
from tests.sync.replicas import stock_of

ROUNDS = 5
PER_ROUND = 300
WARMUP = 20
BASELINE = "sqlite3, same file system and pragmas (WAL, synchronous=FULL), 1 INSERT/txn"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[ReplicaStore]:
    store = ReplicaStore(
        f"sqlite:///{tmp_path}/ledger.db", origin=STORE, key=NodeKey.generate(), registry=REGISTRY
    )
    item = {"sku": SKU, "fields": {"name": "可口可乐 330ml", "price_fen": 350}}
    with store.write() as txn:
        txn.append("catalog.item_set", item, "hq")
    yield store
    store.close()


@pytest.fixture
def raw_ledger(tmp_path: Path) -> Iterator[RawSqliteLedger]:
    """Rows shaped like a sale's op (its body, a real signature)."""
    sale = sale_ops(NodeKey.generate(), STORE, 1)[0]
    raw = RawSqliteLedger(tmp_path / "raw.db", sale)
    yield raw
    raw.close()


@pytest.mark.bench
def test_record_sale_against_raw_sqlite(
    ledger: ReplicaStore, raw_ledger: RawSqliteLedger, bench_results: Results
) -> None:
    cart = [CartLine(SKU, 1)]

    def sell(n: int) -> None:
        for _ in range(n):
            record_sale(ledger, STORE, cart, "cashier-1")

    sell(WARMUP)
    raw_ledger.commit_rows(WARMUP)
    ours, raw = interleave(
        ROUNDS, lambda: timed(sell, PER_ROUND), lambda: timed(raw_ledger.commit_rows, PER_ROUND)
    )

    assert ledger.head(STORE) == 1 + 2 * (WARMUP + ROUNDS * PER_ROUND)
    bench_results.add(
        Table(
            "Edge recording: record_sale on a SQLite file",
            BASELINE,
            [Row("record_sale, 1-line cart (2 ops)", "txn", ours, raw, ops_per_unit=2)],
            [f"{ROUNDS} rounds of {PER_ROUND} sales, each its own transaction; median round"],
        )
    )


@pytest.mark.bench
def test_receive_stock_against_raw_sqlite(
    ledger: ReplicaStore, raw_ledger: RawSqliteLedger, bench_results: Results
) -> None:
    def receive(n: int) -> None:
        for _ in range(n):
            receive_stock(ledger, STORE, SKU, 12, "clerk-1")

    receive(WARMUP)
    raw_ledger.commit_rows(WARMUP)
    ours, raw = interleave(
        ROUNDS, lambda: timed(receive, PER_ROUND), lambda: timed(raw_ledger.commit_rows, PER_ROUND)
    )

    assert stock_of(ledger)[(SKU, STORE)] == 12 * (WARMUP + ROUNDS * PER_ROUND)
    bench_results.add(
        Table(
            "Edge recording: receive_stock on a SQLite file",
            BASELINE,
            [Row("receive_stock (1 op)", "txn", ours, raw)],
            [f"{ROUNDS} rounds of {PER_ROUND} receipts, each its own transaction; median round"],
        )
    )
