"""Edge recording: a till's write path on a real SQLite file, against bare sqlite3.

Ours: ``record_sale`` of a one-line cart (``sale.completed`` + ``stock.moved``: 2 signed
ops, their projections, the retry check of the till's ``sale_id``) and ``receive_stock``
(1 op), through ``ReplicaStore`` in WAL mode with ``synchronous=FULL``: one till after
another, and 4 or 8 tills at once (their sales share commits: group commit), called in
process and through the node's HTTP API (uvicorn, as ``shopfloor edge run`` serves it,
in this process; each till a keep-alive connection of a minimal client).
Baseline: sqlite3 on a file with the same pragmas, one single-row INSERT per
transaction, one after another. Ratio = our sales (transactions) per second ÷ theirs.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from domain.registry import REGISTRY
from domain.sales.rules import CartLine
from edge.app import create_app
from edge.services.sales import record_sale
from edge.services.stock import receive_stock
from edge.settings import EdgeSettings
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore
from sync_protocol.store.group_commit import GroupCommit
from tests.bench.baselines import RawSqliteLedger
from tests.bench.report import Rate, Results, Row, Table, interleave, timed
from tests.bench.workload import SKU, STORE, sale_ops
from tests.support.access import node_token
from tests.support.serving import serving
from tests.sync.replicas import stock_of

ROUNDS = 5
PER_ROUND = 300
WARMUP = 20
BASELINE = "sqlite3, same file system and pragmas (WAL, synchronous=FULL), 1 INSERT/txn"
TILLS = (4, 8)
ITEM = {"sku": SKU, "fields": {"name": "可口可乐 330ml", "price_fen": 350}}
_sale_ids = itertools.count(1)


def till_sale_id(till: int) -> str:
    """A till's own id for its next sale (its retry key), as tills send them."""
    return f"till-{till}-{next(_sale_ids):07d}"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[ReplicaStore]:
    store = ReplicaStore(
        f"sqlite:///{tmp_path}/ledger.db", origin=STORE, key=NodeKey.generate(), registry=REGISTRY
    )
    with store.write() as txn:
        txn.append("catalog.item_set", ITEM, "hq")
    yield store
    store.close()


@pytest.fixture
def raw_ledger(tmp_path: Path) -> Iterator[RawSqliteLedger]:
    """Rows shaped like a sale's op (its body, a real signature)."""
    sale = sale_ops(NodeKey.generate(), STORE, 1)[0]
    raw = RawSqliteLedger(tmp_path / "raw.db", sale)
    yield raw
    raw.close()


class TillConnection:
    """One till's keep-alive HTTP/1.1 connection to the node, as cheap as a client can
    be (the request written out by hand, the answer framed by its Content-Length), so
    that the rate measured is the node's: client and node share this process."""

    def __init__(self, port: int, till: int, token: str) -> None:
        self.till = till
        self.port = port
        self.token = token
        self.sock = self._connect()
        self._buf = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def reconnect(self) -> None:
        """A new connection (the node drops one idle for 5 s, as uvicorn does)."""
        self.sock.close()
        self.sock, self._buf = self._connect(), b""

    def sell(self) -> dict[str, object]:
        body = json.dumps(
            {"sale_id": till_sale_id(self.till), "lines": [{"sku": SKU, "qty": 1}], "actor": "c1"}
        ).encode()
        head = (
            "POST /api/sales HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {self.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.sock.sendall(head.encode() + body)
        while b"\r\n\r\n" not in self._buf:
            self._recv()
        status_and_headers, _, rest = self._buf.partition(b"\r\n\r\n")
        found = re.search(rb"(?i)content-length: *(\d+)", status_and_headers)
        assert found is not None, status_and_headers
        length = int(found.group(1))
        self._buf = rest
        while len(self._buf) < length:
            self._recv()
        answer, self._buf = self._buf[:length], self._buf[length:]
        assert status_and_headers.startswith(b"HTTP/1.1 200"), status_and_headers + answer
        sale: dict[str, object] = json.loads(answer)
        return sale

    def _recv(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the node closed the connection")
        self._buf += chunk

    def close(self) -> None:
        self.sock.close()


def at_once(tills: int, sell_one: Callable[[int], object], n: int) -> Rate:
    """`n` sales from `tills` tills at once (threads), each till selling in turn; timed
    from the first sale to the last answer."""
    share = [n // tills + (1 if t < n % tills else 0) for t in range(tills)]
    with ThreadPoolExecutor(tills) as pool:

        def till(t: int) -> None:
            for _ in range(share[t]):
                sell_one(t)

        return timed(lambda _n: list(pool.map(till, range(tills))), n)


@pytest.fixture
def node_url(tmp_path: Path) -> Iterator[tuple[int, ReplicaStore, str]]:
    """A store node served by uvicorn (no sync: the write path alone), its catalog set,
    and a till's API token (each sale passes the access gate, as a real till's does)."""
    app = create_app(EdgeSettings(data_dir=tmp_path / "node", node_id=STORE), with_sync=False)
    ledger: ReplicaStore = app.state.node.ledger
    with ledger.write() as txn:
        txn.append("catalog.item_set", ITEM, "hq")
    token = node_token(ledger)
    with serving(app) as url:
        yield int(url.rsplit(":", 1)[1]), ledger, token


@pytest.mark.bench
def test_record_sale_against_raw_sqlite(
    ledger: ReplicaStore,
    node_url: tuple[int, ReplicaStore, str],
    raw_ledger: RawSqliteLedger,
    bench_results: Results,
) -> None:
    cart = [CartLine(SKU, 1)]
    port, node_ledger, token = node_url

    def sell_here(till: int) -> None:
        record_sale(ledger, STORE, cart, "cashier-1", sale_id=till_sale_id(till))

    tills = [TillConnection(port, t, token) for t in range(max(TILLS))]

    def sell_http(till: int) -> None:
        tills[till].sell()

    def sequential(sell_one: Callable[[int], None]) -> Callable[[], Rate]:
        def one_till(n: int) -> None:
            for _ in range(n):
                sell_one(0)

        return lambda: timed(one_till, PER_ROUND)

    def together(sell_one: Callable[[int], None], n_tills: int) -> Callable[[], Rate]:
        return lambda: at_once(n_tills, sell_one, PER_ROUND)

    def reconnect() -> None:
        for connection in tills:
            connection.reconnect()

    here_group, http_group = GroupCommit.of(ledger), GroupCommit.of(node_ledger)
    sides = {
        "record_sale, 1 till": (here_group, sequential(sell_here)),
        **{f"record_sale, {n} tills at once": (here_group, together(sell_here, n)) for n in TILLS},
        "POST /api/sales, 1 till": (http_group, sequential(sell_http)),
        **{
            f"POST /api/sales, {n} tills at once": (http_group, together(sell_http, n))
            for n in TILLS
        },
    }
    commits = dict.fromkeys(sides, 0)

    def counted(what: str) -> Callable[[], Rate]:
        group, side = sides[what]

        def run() -> Rate:
            if group is http_group:
                reconnect()  # untimed: the round before may have left them idle
            before = group.commits
            rate = side()
            commits[what] += group.commits - before
            return rate

        return run

    for sell_one in (sell_here, sell_http):
        for till in range(max(TILLS)):
            for _ in range(WARMUP // 4):
                sell_one(till)
    raw_ledger.commit_rows(WARMUP)
    *ours, raw = interleave(
        ROUNDS, *(counted(what) for what in sides), lambda: timed(raw_ledger.commit_rows, PER_ROUND)
    )
    for connection in tills:
        connection.close()

    sold = ROUNDS * PER_ROUND * (1 + len(TILLS))
    warm = WARMUP // 4 * max(TILLS)
    assert ledger.head(STORE) == 1 + 2 * (warm + sold)
    assert node_ledger.head(STORE) == 1 + 2 * (warm + sold)
    shared = ", ".join(f"{what} {ROUNDS * PER_ROUND / n:.2f}" for what, n in commits.items())

    bench_results.add(
        Table(
            "Edge recording: record_sale on a SQLite file, in process and over HTTP",
            BASELINE,
            [
                Row(what, "sale", sample, raw, ops_per_unit=2)
                for what, sample in zip(sides, ours, strict=True)
            ],
            [
                f"{ROUNDS} rounds of {PER_ROUND} sales per row, 1-line carts with the till's "
                "sale_id; median round",
                f"sales per commit: {shared}",
            ],
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
