"""The ledger file Litestream follows: made empty, in WAL mode, before Litestream starts.

Durable writes themselves (atomic replace, fsync of files and folders) are
`sync_protocol.files`.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sync_protocol.files import fsync_dir


def ensure_ledger_file(ledger: Path) -> None:
    if ledger.exists():
        return
    ledger.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(ledger)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    fsync_dir(ledger.parent)
