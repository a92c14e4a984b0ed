"""Hub workers: does ingest grow with workers, and do the nodes get each page once?

Ours: 1, 2 and 4 hub worker processes (`HubIngest` on one PostgreSQL database, as
`shopfloor cloud run` runs it: leases, the shared subscription, pages passed on while a
lease is young) and `NODES` nodes in this process (`SyncAgent` over `MqttLink`, SQLite
ledgers), each back online with `BACKLOG` ops it never sent, through the session's
Mosquitto; the hub has a few catalog ops every node must get. Timed from the agents'
start until the hub holds every node's backlog and every node holds the catalog.
Baseline: the same round with 1 worker, so the ratio is the scaling (2.0 = twice the
ops/s of one worker). Duplicates: ops that arrived a second time, at the hub (node
pages) and at the nodes (hub pages), as a share of the ops carried.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from cloud.ingest import HubIngest
from cloud.schema import HUB_REGISTRY
from domain.registry import REGISTRY
from edge.sync_agent import SyncAgent
from sync_protocol.origins import HUB
from sync_protocol.signing import NodeKey
from sync_protocol.store import ReplicaStore, schema
from sync_protocol.transport.mqtt import BrokerAddress
from tests.bench.report import Rate, Results, Row, Table, interleave
from tests.bench.workload import sale_ops
from tests.support import postgres
from tests.support.broker import BrokerProcess

NODES = 6
BACKLOG = 6_000  # ops per node: 3 pages
CATALOG_OPS = 20
WORKER_COUNTS = (1, 2, 4)
ROUNDS = 2
TIMEOUT = 120.0


@dataclass(frozen=True)
class Node:
    name: str
    key: NodeKey
    ops: list[Any]


@pytest.fixture(scope="module")
def nodes() -> list[Node]:
    out = []
    for i in range(NODES):
        key = NodeKey.generate()
        name = f"store-{i + 1}"
        out.append(Node(name, key, sale_ops(key, name, BACKLOG)))
    return out


def run_worker(
    url: str,
    key_path: str,
    tenant: str,
    broker: tuple[str, int],
    worker_id: str,
    ready: Queue[str],
    stop: Event,
    report: Queue[dict[str, int]],
) -> None:
    """One hub worker process, as `shopfloor cloud run` has it (without the web app)."""
    store = ReplicaStore(
        url, origin=HUB, key=NodeKey.load_or_create(Path(key_path)), registry=HUB_REGISTRY
    )
    ingest = HubIngest(store, tenant, BrokerAddress(*broker, "5"), worker_id=worker_id)
    ingest.start()
    deadline = time.monotonic() + 30
    while not ingest.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # its subscriptions granted, the others' presence heard
    ready.put(worker_id)
    stop.wait()
    ingest.stop()
    report.put({**ingest.stats(), "worker": int(worker_id)})
    store.close()


@dataclass
class RoundResult:
    rate: Rate
    hub_duplicates: int
    node_duplicates: int
    node_resends: int
    leases: list[int]
    forwarded: int


@contextlib.contextmanager
def hub_workers(
    count: int, url: str, key_path: Path, tenant: str, broker: BrokerProcess
) -> Iterator[list[dict[str, int]]]:
    # fork: the worker starts with this process's imports (no threads run here yet)
    ctx = multiprocessing.get_context("fork")
    ready: Queue[str] = ctx.Queue()
    report: Queue[dict[str, int]] = ctx.Queue()
    stop = ctx.Event()
    procs = [
        ctx.Process(
            target=run_worker,
            args=(
                url,
                str(key_path),
                tenant,
                (broker.host, broker.port),
                str(i + 1),
                ready,
                stop,
                report,
            ),
            daemon=True,
        )
        for i in range(count)
    ]
    for proc in procs:
        proc.start()
    stats: list[dict[str, int]] = []
    try:
        for _ in procs:
            ready.get(timeout=60)
        yield stats
    finally:
        stop.set()
        for _ in procs:
            with contextlib.suppress(Exception):
                stats.append(report.get(timeout=30))
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()


def one_round(workers: int, nodes: list[Node], broker: BrokerProcess, base: Path) -> RoundResult:
    tenant = f"bench{secrets.token_hex(4)}"
    where = base / tenant
    where.mkdir()
    key_path = where / "hub_key.pem"
    hub_key = NodeKey.load_or_create(key_path)
    address = BrokerAddress(broker.host, broker.port, "5")
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(postgres.throwaway_database())
        hub = ReplicaStore(url, origin=HUB, key=hub_key, registry=HUB_REGISTRY)
        for node in nodes:
            hub.enroll(node.name, node.key.public_b64, label=node.name)
        with hub.write() as txn:
            for i in range(CATALOG_OPS):
                txn.append(
                    "catalog.item_set",
                    {"sku": f"69{i:011d}", "fields": {"price_fen": 100 + i}},
                    "hq",
                )
        hub.close()
        ledgers = []
        for node in nodes:
            ledger = ReplicaStore(
                f"sqlite:///{where}/{node.name}.db",
                origin=node.name,
                key=node.key,
                registry=REGISTRY,
            )
            stack.callback(ledger.close)
            ledger.enroll(HUB, hub_key.public_b64, label="hub")
            ledger.apply(node.ops)  # written while offline: all of it unsent
            ledgers.append(ledger)
        watch = create_engine(url)
        stack.callback(watch.dispose)
        stats = stack.enter_context(hub_workers(workers, url, key_path, tenant, broker))
        agents = [SyncAgent(ledger, tenant, address) for ledger in ledgers]
        start = time.perf_counter()
        for agent in agents:
            agent.start()
            stack.callback(agent.stop)
        deadline = time.monotonic() + TIMEOUT
        while not done(watch, nodes, ledgers):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{workers} workers: the sync did not finish")
            time.sleep(0.01)
        seconds = time.perf_counter() - start
        node_duplicates = sum(a.session.stats.duplicates for a in agents)
        node_resends = sum(a.session.stats.resends for a in agents)
        stack.pop_all().close()  # stops the workers: their stats come back
    carried = NODES * BACKLOG + NODES * CATALOG_OPS
    return RoundResult(
        Rate(carried, seconds),
        sum(s["duplicates"] for s in stats),
        node_duplicates,
        node_resends,
        sorted(s["taken"] for s in stats),
        sum(s["forwarded"] for s in stats),
    )


def done(watch: Any, nodes: list[Node], ledgers: list[ReplicaStore]) -> bool:
    with watch.connect() as conn:
        heads = dict(conn.execute(select(schema.heads.c.origin, schema.heads.c.seq)).all())
    if any(heads.get(node.name, 0) < BACKLOG for node in nodes):
        return False
    return all(ledger.head(HUB) >= CATALOG_OPS for ledger in ledgers)


@pytest.mark.bench
def test_hub_ingest_grows_with_workers(
    mqtt_broker: BrokerProcess, nodes: list[Node], tmp_path: Path, bench_results: Results
) -> None:
    if mqtt_broker.kind != "mosquitto":
        pytest.skip("hub workers share the ingest through MQTT 5 shared subscriptions")
    reason = postgres.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    results: dict[int, list[RoundResult]] = {n: [] for n in WORKER_COUNTS}

    def side(count: int) -> Any:
        def run() -> Rate:
            result = one_round(count, nodes, mqtt_broker, tmp_path)
            results[count].append(result)
            return result.rate

        return run

    samples = interleave(ROUNDS, *(side(n) for n in WORKER_COUNTS))
    single = samples[0]
    rows = []
    notes = []
    carried = NODES * BACKLOG + NODES * CATALOG_OPS
    for count, sample in zip(WORKER_COUNTS, samples, strict=True):
        label = f"{count} worker{'s' * (count > 1)}"
        rows.append(Row(label, "op", sample, single if count > 1 else None))
        for r in results[count]:
            dup = r.hub_duplicates + r.node_duplicates
            notes.append(
                f"{label}: {r.rate.per_second:,.0f} ops/s; duplicates {dup} "
                f"({100 * dup / carried:.2f} % of ops: {r.hub_duplicates} at the hub, "
                f"{r.node_duplicates} at nodes); nodes per worker {r.leases}; "
                f"{r.forwarded} messages passed on; {r.node_resends} resends by nodes"
            )
    bench_results.add(
        Table(
            f"Hub workers on PostgreSQL: {NODES} nodes × {BACKLOG:,} ops back online, "
            f"{CATALOG_OPS} catalog ops to each",
            "the same rounds with 1 worker (ratio = scaling with workers)",
            rows,
            [f"{ROUNDS} rounds per count, interleaved; fresh database and ledgers each", *notes],
        )
    )
