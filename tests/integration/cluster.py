"""A hub and edge nodes as real processes (`shopfloor cloud run`, `shopfloor edge run`)
against a real broker, with their HTTP APIs, for end-to-end tests."""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from cloud.accounts.users import create_user
from cloud.hub import Hub
from cloud.registry import enroll_node
from cloud.services.catalog import set_catalog_item
from cloud.settings import HubSettings
from domain.catalog.kinds import ItemFields
from edge.node import Node
from edge.settings import EdgeSettings
from shopfloor_cli.broker import pdeathsig_prefix
from sync_protocol.hlc import system_ms
from sync_protocol.signing import NodeKey
from tests.support.access import (
    ADMIN,
    ADMIN_PASSWORD,
    CASHIER,
    MANAGER,
    SUPERVISOR,
    add_staff,
    bearer,
    hub_token,
    node_token,
)
from tests.support.broker import BrokerProcess
from tests.support.net import free_port, wait_for_port
from tests.support.waiting import wait_for

CATALOG = {
    "6901234567890": ("农夫山泉 550ml", 200),
    "6902538005141": ("可口可乐 330ml", 350),
    "6920459905012": ("康师傅红烧牛肉面", 450),
}


@dataclass
class Proc:
    name: str
    argv: list[str]
    port: int
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    base: Path
    broker: BrokerProcess
    hub_db: str
    node_ids: list[str]
    procs: dict[str, Proc] = field(default_factory=dict)
    hub_key: str = ""
    # An API token per process, holding every scope (its proc's name → secret).
    tokens: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        protocol = "5" if self.broker.kind == "mosquitto" else "3.1.1"
        hub = Hub.open(HubSettings(data_dir=self.base / "hub", db=self.hub_db), with_ingest=False)
        try:
            self.hub_key = hub.key.public_b64
            for node_id in self.node_ids:
                settings = EdgeSettings(
                    data_dir=self.base / node_id,
                    node_id=node_id,
                    label=node_id,
                    hub_public_key=self.hub_key,
                    broker_port=self.broker.port,
                    broker_protocol=protocol,  # type: ignore[arg-type]
                    http_host="127.0.0.1",
                    http_port=free_port(),
                )
                settings.save()
                enroll_node(
                    hub.store, node_id, NodeKey.load_or_create(settings.key_path).public_b64
                )
                node = Node.open(settings, with_sync=False)
                try:
                    self.tokens[node_id] = node_token(node.ledger)
                finally:
                    node.close()
                self.procs[node_id] = Proc(
                    node_id,
                    ["edge", "run", "--data-dir", str(settings.data_dir)],
                    settings.http_port,
                    self.base / f"{node_id}.log",
                )
            for sku, (name, price) in CATALOG.items():
                set_catalog_item(hub.store, sku, ItemFields(name=name, price_fen=price), "test")
            self.tokens["hub"] = hub_token(hub.store)
            create_user(hub.store.engine, ADMIN, ADMIN_PASSWORD, role="admin", now_ms=system_ms())
            add_staff(hub.store, CASHIER, SUPERVISOR, MANAGER)
        finally:
            hub.close()
        hub_port = free_port()
        hub_argv = [
            "cloud",
            "run",
            "--data-dir",
            str(self.base / "hub"),
            "--db",
            self.hub_db,
            "--broker-port",
            str(self.broker.port),
            "--broker-protocol",
            protocol,
            "--http-host",
            "127.0.0.1",
            "--http-port",
            str(hub_port),
        ]
        if protocol != "5":
            hub_argv.append("--no-shared-subscription")
        self.procs["hub"] = Proc("hub", hub_argv, hub_port, self.base / "hub.log")

    # --- processes ---------------------------------------------------------------------

    def start(self, name: str) -> None:
        proc = self.procs[name]
        with proc.log.open("ab") as log:
            proc.popen = subprocess.Popen(
                # pdeathsig: a killed test run leaves no hub or node behind.
                [*pdeathsig_prefix(), sys.executable, "-m", "shopfloor_cli.main", *proc.argv],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        popen = proc.popen
        wait_for_port("127.0.0.1", proc.port, timeout=30, alive=lambda: popen.poll() is None)

    def start_all(self) -> None:
        for name in self.procs:
            self.start(name)

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        popen = self.procs[name].popen
        if popen is None or popen.poll() is not None:
            return
        popen.send_signal(sig)
        try:
            popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()

    def kill(self, name: str) -> None:
        self.stop(name, signal.SIGKILL)

    def close(self) -> None:
        for name in self.procs:
            self.stop(name)

    def logs(self) -> str:
        out = []
        for proc in self.procs.values():
            if proc.log.exists():
                tail = proc.log.read_text(errors="replace").splitlines()[-40:]
                out.append(f"--- {proc.name} ---\n" + "\n".join(tail))
        return "\n".join(out)

    # --- HTTP --------------------------------------------------------------------------

    def url(self, name: str) -> str:
        return self.procs[name].url

    def headers(self, name: str) -> dict[str, str]:
        """The bearer token of `name` (a second hub worker shares the hub's store)."""
        return bearer(self.tokens["hub" if name.startswith("hub") else name])

    def get(self, name: str, path: str) -> Any:
        r = httpx.get(self.url(name) + path, headers=self.headers(name), timeout=10)
        r.raise_for_status()
        return r.json()

    def post(self, name: str, path: str, body: dict[str, Any]) -> Any:
        r = httpx.post(self.url(name) + path, json=body, headers=self.headers(name), timeout=10)
        r.raise_for_status()
        return r.json()

    def node_stock(self, node: str) -> dict[str, int]:
        return {row["sku"]: row["qty"] for row in self.get(node, "/api/stock")}

    def hub_stock(self) -> dict[tuple[str, str], int]:
        data = self.get("hub", "/api/stock")
        return {
            (row["sku"], loc): qty
            for row in data["rows"]
            for loc, qty in row["by_location"].items()
            if qty != 0
        }


def sell(cluster: Cluster, node: str, sku: str, n: int = 1) -> None:
    """`n` one-line sales of one `sku` at `node`'s till API (two ops each)."""
    for _ in range(n):
        cluster.post(node, "/api/sales", {"lines": [{"sku": sku, "qty": 1}]})


def hub_holds(cluster: Cluster, node: str) -> int:
    """How many of `node`'s ops the hub holds (its head of that origin)."""
    return int(next(n["held"] for n in cluster.get("hub", "/api/nodes") if n["node_id"] == node))


def catalog_synced(cluster: Cluster, node: str, sku: str) -> Callable[[], bool]:
    """A check that `node` has received `sku` from the hub's catalog."""
    return lambda: sku in cluster.node_stock(node)


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, *, every: float = 0.2
) -> float:
    """Poll until `check()` holds; return the seconds it took. (To see the last reading
    when it times out, use :func:`tests.support.waiting.wait_equal`.)"""
    return wait_for(
        check, bool, timeout=timeout, what=what, every=every, ignore=(httpx.HTTPError,)
    ).seconds


def add_hub_worker(cluster: Cluster, worker_id: str) -> str:
    """A second hub process on the same database and broker (shared subscription)."""
    first = cluster.procs["hub"]
    argv = list(first.argv)
    port = free_port()
    argv[argv.index("--http-port") + 1] = str(port)
    name = f"hub-{worker_id}"
    cluster.procs[name] = Proc(
        name, [*argv, "--worker-id", worker_id], port, cluster.base / f"{name}.log"
    )
    return name


@contextmanager
def raw_mqtt_client(broker: BrokerProcess, client_id: str = "intruder") -> Iterator[paho.Client]:
    """A plain MQTT client on the cluster's broker that can publish anything anywhere."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    connected: queue.Queue[bool] = queue.Queue()
    client.on_connect = lambda *_a: connected.put(True)
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        connected.get(timeout=10)
        yield client
    finally:
        client.loop_stop()
        client.disconnect()


def publish(client: paho.Client, topic: str, payload: bytes) -> None:
    client.publish(topic, payload, qos=1).wait_for_publish(timeout=10)


def node_incidents(cluster: Cluster, node: str) -> list[dict[str, Any]]:
    """The incidents a running node recorded, read from its ledger file read-only."""
    path = cluster.base / node / "ledger.db"
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM sync_incidents ORDER BY id")]
