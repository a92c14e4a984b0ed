"""Hub ingest: pages of 2,000 signed ops of one store into a fresh hub store.

Ours, two ways, each round on a fresh hub database (SQLite file, then PostgreSQL):
- verify + apply: ``KeyRing.verify`` of every op (as the session does), then
  ``ReplicaStore.apply(page)``: ops, head, projections, one transaction per page;
- full path: ``SyncSession.receive(decode(page_bytes))`` — decompress, parse and validate
  the envelopes, verify, apply, compute the ack (the bytes are encoded beforehand, as
  the edge would have sent them).
Baseline: the driver's ``executemany`` of the same rows into a plain table with the ops
table's columns and primary key, one transaction per page. Ratio = our ops/s ÷ theirs.
"""

from __future__ import annotations

import time

import pytest

from sync_protocol.messages import decode
from sync_protocol.origins import HUB
from sync_protocol.session import SyncSession, only_from_origin
from tests.bench.baselines import bulk_insert_seconds, op_rows
from tests.bench.report import Rate, Results, Row, Sample, Table, interleave
from tests.bench.workload import PAGE_OPS, EdgeHistory, FreshDatabases, open_hub

ROUNDS = 3
PAGES = 5
N_OPS = PAGES * PAGE_OPS


@pytest.mark.bench
def test_hub_ingest_against_raw_executemany(
    fresh_db: FreshDatabases, edge_history: EdgeHistory, bench_results: Results
) -> None:
    pages = edge_history.pages(N_OPS)
    wires = edge_history.wire_pages(N_OPS)
    rows = [op_rows(page) for page in pages]

    verify_only: list[Rate] = []
    apply_only: list[Rate] = []

    def verify_and_apply() -> Rate:
        hub = open_hub(fresh_db.new_url(), edge_history)
        try:
            keys = hub.keyring()
            verifying = applying = 0.0
            for page in pages:
                start = time.perf_counter()
                for op in page:
                    keys.verify(op)
                verified = time.perf_counter()
                hub.apply(page)
                verifying += verified - start
                applying += time.perf_counter() - verified
            assert hub.head(edge_history.origin) == N_OPS
        finally:
            hub.close()
        verify_only.append(Rate(N_OPS, verifying))
        apply_only.append(Rate(N_OPS, applying))
        return Rate(N_OPS, verifying + applying)

    def full_session_path() -> Rate:
        hub = open_hub(fresh_db.new_url(), edge_history)
        try:
            session = SyncSession(
                hub,
                edge_history.origin,
                offer={HUB, edge_history.origin},
                accept=only_from_origin(edge_history.origin),
            )
            start = time.perf_counter()
            for wire in wires:
                session.receive(decode(wire), time.time())
            rate = Rate(N_OPS, time.perf_counter() - start)
            assert session.stats.ops_applied == N_OPS and session.stats.rejected == 0
            return rate
        finally:
            hub.close()

    def raw() -> Rate:
        return Rate(N_OPS, bulk_insert_seconds(fresh_db.new_url(), rows))

    applied, received, baseline = interleave(ROUNDS, verify_and_apply, full_session_path, raw)

    driver = "sqlite3" if fresh_db.backend == "sqlite" else "psycopg 3"
    bench_results.add(
        Table(
            f"Hub ingest on {fresh_db.backend}: {PAGES} pages of {PAGE_OPS} ops, fresh hub",
            f"{driver} executemany of the same rows into a plain table, 1 txn per page",
            [
                Row("KeyRing.verify + ReplicaStore.apply", "op", applied, baseline),
                Row("  of which KeyRing.verify alone", "op", Sample.of(verify_only)),
                Row("  of which ReplicaStore.apply alone", "op", Sample.of(apply_only), baseline),
                Row("SyncSession.receive(decode(page))", "op", received, baseline),
            ],
            [f"{ROUNDS} rounds of {N_OPS} ops, each on a new database; median round"],
        )
    )
