"""The raw floors our code is compared with: the same work done by the bare driver.

Each baseline writes rows shaped like the replica's ``ops`` table (same columns, same
primary key, no secondary index, no projections, no signatures) with the same
durability settings as the store, so a ratio shows what our layers cost on top.
"""

from __future__ import annotations

import base64
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.engine import make_url

from sync_protocol.ops import Op, canonical_json

Row = tuple[str, int, int, str, int, str, str, str, int]

OPS_DDL = """
CREATE TABLE raw_ops (
    origin VARCHAR(64) NOT NULL,
    seq BIGINT NOT NULL,
    hlc BIGINT NOT NULL,
    kind VARCHAR(64) NOT NULL,
    v INTEGER NOT NULL,
    actor VARCHAR(64) NOT NULL,
    body TEXT NOT NULL,
    sig VARCHAR(128) NOT NULL,
    received_ms BIGINT NOT NULL,
    PRIMARY KEY (origin, seq)
)
"""
INSERT_SQLITE = "INSERT INTO raw_ops VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_PG = "INSERT INTO raw_ops VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"


def op_rows(ops: Sequence[Op], received_ms: int = 0) -> list[Row]:
    """The rows ReplicaStore stores for these ops (body as canonical JSON, sig base64)."""
    return [
        (
            op.origin,
            op.seq,
            op.hlc,
            op.kind,
            op.v,
            op.actor,
            canonical_json(op.body).decode("utf-8"),
            base64.b64encode(op.sig).decode("ascii"),
            received_ms,
        )
        for op in ops
    ]


def connect_sqlite(path: Path) -> sqlite3.Connection:
    """sqlite3 with the store's pragmas: WAL, synchronous=FULL, explicit transactions."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(OPS_DDL)
    return conn


class RawSqliteLedger:
    """The edge's floor: one durable single-row INSERT per transaction."""

    def __init__(self, path: Path, template: Op) -> None:
        self.conn = connect_sqlite(path)
        self._row = op_rows([template])[0]
        self._seq = 0

    def commit_rows(self, n: int) -> None:
        origin, _, hlc, kind, v, actor, body, sig, at = self._row
        for _ in range(n):
            self._seq += 1
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(
                INSERT_SQLITE, (origin, self._seq, hlc + self._seq, kind, v, actor, body, sig, at)
            )
            self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


def bulk_insert_seconds(url: str, pages: Sequence[Sequence[Row]]) -> float:
    """The hub's floor: executemany of each page into a plain table, one transaction per
    page, on the database at `url` (a SQLAlchemy URL, SQLite file or PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database is None:
            raise ValueError(f"{url}: a SQLite file is needed")
        sconn = connect_sqlite(Path(parsed.database))
        try:
            start = time.perf_counter()
            for page in pages:
                sconn.execute("BEGIN IMMEDIATE")
                sconn.executemany(INSERT_SQLITE, page)
                sconn.execute("COMMIT")
            return time.perf_counter() - start
        finally:
            sconn.close()
    libpq = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq) as pconn:
        pconn.execute(OPS_DDL)
        pconn.commit()
        start = time.perf_counter()
        for page in pages:
            with pconn.transaction(), pconn.cursor() as cur:
                cur.executemany(INSERT_PG, page)
        return time.perf_counter() - start


class PahoCarriage:
    """The carriage's floor: one paho client publishes QoS 1 messages to another that is
    subscribed, all at once, no replies; timed from the first publish to the last arrival."""

    def __init__(self, host: str, port: int, protocol: str, topic: str) -> None:
        self.topic = topic
        self._version = paho.MQTTv5 if protocol == "5" else paho.MQTTv311
        self._host, self._port = host, port
        self._expected = 0
        self._arrived = 0
        self._last_arrival = 0.0
        self._done = threading.Event()
        self._ready = threading.Event()
        self.sub = self._client(f"{topic}-sub")
        self.sub.on_message = self._on_message
        self.sub.on_subscribe = lambda *_: self._ready.set()
        self.pub = self._client(f"{topic}-pub")

    def _client(self, client_id: str) -> paho.Client:
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id.replace("/", "-"),
            protocol=self._version,
        )
        connected = threading.Event()
        client.on_connect = lambda *_: connected.set()
        client.connect(self._host, self._port, keepalive=30)
        client.loop_start()
        if not connected.wait(10):
            raise TimeoutError(f"{client_id} could not connect to {self._host}:{self._port}")
        return client

    def _on_message(self, _c: Any, _u: Any, _msg: paho.MQTTMessage) -> None:
        self._arrived += 1
        if self._arrived >= self._expected:
            self._last_arrival = time.perf_counter()
            self._done.set()

    def carry_seconds(self, payloads: Sequence[bytes], timeout: float = 60.0) -> float:
        if not self._ready.is_set():
            self.sub.subscribe(self.topic, qos=1)
            if not self._ready.wait(10):
                raise TimeoutError(f"no SUBACK for {self.topic}")
        self._done.clear()
        self._arrived, self._expected = 0, len(payloads)
        start = time.perf_counter()
        for payload in payloads:
            self.pub.publish(self.topic, payload, qos=1)
        if not self._done.wait(timeout):
            raise TimeoutError(f"{self._arrived} of {len(payloads)} messages arrived")
        return self._last_arrival - start

    def close(self) -> None:
        for client in (self.pub, self.sub):
            client.disconnect()
            client.loop_stop()
