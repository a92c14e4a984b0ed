"""Memory of a store's Pi: the node, the device agent and Mosquitto, idle and under load.

What a Raspberry-Pi-class box at a till runs, as real processes: ``shopfloor edge run``
(the store node of ``shopfloor demo``, with its POS lane), ``shopfloor devices run`` on the
demo rig's simulated scale and receipt printer plus a serial barcode scanner on a pty that
this benchmark types into, and a private Mosquitto. A hub (``shopfloor cloud run``) feeds
the node its catalog and takes its ops, as in the field; it runs elsewhere there, so it
is sampled but not counted.

Each process's VmRSS is read from /proc every 0.1 s in three phases:

- ``idle``: everything up, the catalog at the node, the devices online, nobody trading;
- ``load``: stock received, SALES sales of 1–3 lines over the node's HTTP API, a scan
  every SCAN_EVERY_S s through the scanner into the lane's basket and the scale's load
  changing, until the node has synced every op to the hub;
- ``after``: AFTER_S s of quiet again (Python seldom gives memory back).

Reported: the highest RSS of each process in each phase, the highest sum of node + agent
+ broker at one instant against the 150 MiB budget, VmHWM (the lifetime peak, startup
included), and a bare interpreter: the floor every Python process pays. The benchmark
asserts that the work happened (sales recorded, scans in the basket, ops synced), never
the budget (docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from devices.simulators.demo_rig import (
    PRINTER_ID,
    SCALE_ID,
    SCANNER_ID,
    DemoRig,
    start_demo_rig,
)
from devices.simulators.scale_sim import PtyPort
from shopfloor_cli.broker import pdeathsig_prefix
from shopfloor_cli.demo import CATALOG, NODES, TOKENS_FILE, prepare
from tests.bench.memory import MemoryTable, RssSampler
from tests.bench.report import Results
from tests.support.broker import BrokerProcess
from tests.support.net import free_port, wait_for_port
from tests.support.waiting import wait_for

BUDGET_MIB = 150
PI = ("node", "agent", "broker")  # what shares the budget
GROUP = " + ".join(PI)
SALES = 300
RECEIVE_QTY = 5_000
SCAN_EVERY_S = 0.1
IDLE_S = 5.0
AFTER_S = 3.0
START_TIMEOUT = 60.0
SYNC_TIMEOUT = 60.0
LANE = "lane-1"
STORE = NODES[0]
SKUS = [sku for sku, _, _ in CATALOG]
BARE = [sys.executable, "-c", "import signal; signal.pause()"]


def shopfloor(*args: str) -> list[str]:
    return [sys.executable, "-m", "shopfloor_cli.main", *args]


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return f"--- {self.name} ({self.log}) ---\n" + "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def spawned(name: str, argv: list[str], logs: Path) -> Iterator[Proc]:
    """Run ``argv`` (with pdeathsig: no orphan if pytest dies); SIGTERM it afterwards."""
    log = logs / f"{name}.log"
    with log.open("ab") as out:
        popen = subprocess.Popen(
            [*pdeathsig_prefix(), *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        yield Proc(name, popen, log)
    finally:
        popen.terminate()
        try:
            popen.wait(15)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


def devices_toml(path: Path, broker: BrokerProcess, scanner: PtyPort, rig: DemoRig) -> Path:
    """The demo rig's scale and printer, and a serial scanner on `scanner`'s pty (the
    rig's replay scanner scans on its own clock; this one scans when we type)."""
    path.write_text(
        f"""\
[agent]
id = "bench"
spool_dir = "spool"

[broker]
host = "{broker.host}"
port = {broker.port}
protocol = "5"

[[device]]
id = "{SCANNER_ID}"
kind = "scanner"
driver = "serial"
path = "{scanner.link_path}"
model = "bench serial scanner (pty)"

[[device]]
id = "{SCALE_ID}"
kind = "scale"
protocol = "continuous"
port = "{rig.scale.path}"

[[device]]
id = "{PRINTER_ID}"
kind = "printer"
driver = "network"
host = "{rig.printer.host}"
port = {rig.printer.port}
paper = "80mm"
encoding = "gb18030"
""",
        encoding="utf-8",
    )
    return path


@dataclass
class StorePi:
    """The processes of one till's box, running, and what drives them."""

    procs: dict[str, Proc]
    broker: BrokerProcess
    node_url: str
    http: httpx.Client
    scanner: PtyPort
    rig: DemoRig

    @contextlib.contextmanager
    def logs_on_failure(self) -> Iterator[None]:
        """Print the end of every process's log when the block fails."""
        try:
            yield
        except BaseException:
            print("\n".join(proc.tail() for proc in self.procs.values()))
            raise

    def pids(self) -> dict[str, int]:
        pids = {name: proc.pid for name, proc in self.procs.items()}
        assert self.broker.pid is not None
        return {**pids, "broker": self.broker.pid}

    def lane(self) -> dict[str, Any]:
        state: dict[str, Any] = self.http.get(f"{self.node_url}/ws/{LANE}/state").json()
        return state

    def wait_until_ready(self) -> None:
        """The node has the hub's catalog and sees its lane's three devices online."""
        wait_for(
            lambda: {row["sku"] for row in self.http.get(f"{self.node_url}/api/stock").json()},
            lambda skus: skus >= set(SKUS),
            timeout=START_TIMEOUT,
            what="the hub's catalog at the node",
            ignore=(httpx.HTTPError,),
        )
        wait_for(
            lambda: {d["id"]: d["state"] for d in self.lane()["devices"]},
            lambda states: set(states.values()) == {"online"},
            timeout=START_TIMEOUT,
            what="the lane's scanner, scale and printer online",
            ignore=(httpx.HTTPError,),
        )

    def trade(self, rng: random.Random) -> int:
        """Receive stock of every item, then SALES sales; return how many were new."""
        for sku in SKUS:
            body = {"sku": sku, "qty": RECEIVE_QTY, "actor": "bench"}
            self.http.post(f"{self.node_url}/api/stock/receive", json=body).raise_for_status()
        recorded = 0
        for _ in range(SALES):
            basket = rng.sample(SKUS, k=rng.randint(1, 3))
            lines = [{"sku": sku, "qty": rng.randint(1, 3)} for sku in basket]
            body = {"lines": lines, "actor": "收银员01"}
            answer = self.http.post(f"{self.node_url}/api/sales", json=body).raise_for_status()
            recorded += not answer.json()["replayed"]
        return recorded

    def scan_and_weigh(self, stop: threading.Event, rng: random.Random) -> int:
        """A catalog barcode into the scanner every SCAN_EVERY_S s, the scale's load
        moving now and then, until `stop`; return the number of scans."""
        scans = 0
        while not stop.wait(SCAN_EVERY_S):
            self.scanner.write(rng.choice(SKUS).encode() + b"\r\n")
            scans += 1
            if scans % 10 == 0:
                self.rig.scale.set_weight(rng.randint(150, 2500), stable=scans % 20 == 0)
        return scans

    def wait_until_settled(self, scans: int) -> None:
        """Every op at the hub, every scan in the lane's basket."""
        wait_for(
            lambda: self.http.get(f"{self.node_url}/api/sync").json()["ops_waiting"],
            lambda waiting: waiting == 0,
            timeout=SYNC_TIMEOUT,
            what="the node's ops synced to the hub",
            ignore=(httpx.HTTPError,),
        )
        wait_for(
            lambda: self.lane()["count"],
            lambda count: count == scans,
            timeout=SYNC_TIMEOUT,
            what=f"{scans} scans in the lane's basket",
            ignore=(httpx.HTTPError,),
        )


@pytest.fixture
def store_pi(private_broker: BrokerProcess, tmp_path: Path) -> Iterator[StorePi]:
    """Node, agent and floor interpreter (and the hub) started, the broker of our own."""
    broker = private_broker
    if broker.kind != "mosquitto":
        pytest.skip("the budget is for Mosquitto; this machine only has amqtt")
    devices, logs = tmp_path / "devices", tmp_path / "logs"
    logs.mkdir()
    ports = {node.node_id: free_port() for node in NODES}
    hub_port, node_port = free_port(), ports[STORE.node_id]
    with contextlib.ExitStack() as stack:
        # The scale moves only under load, when the benchmark says so.
        rig = stack.enter_context(
            start_demo_rig(devices, broker_port=broker.port, codes=SKUS, animate_every_s=None)
        )
        scanner = PtyPort(str(devices / "usb-Bench_Scanner-if00"))
        scanner.open()
        stack.callback(scanner.close)
        config = devices_toml(devices / "bench.toml", broker, scanner, rig)
        # Keys, settings (the store's POS lane on the rig), enrollment, the catalog.
        prepare(tmp_path, broker.port, "5", ports, store_extra=rig.edge_extra(LANE))
        hub_argv = shopfloor(
            "cloud", "run", "--data-dir", str(tmp_path / "hub"), "--broker-port",
            str(broker.port), "--http-host", "127.0.0.1", "--http-port", str(hub_port),
        )  # fmt: skip
        argvs = {
            "node": shopfloor("edge", "run", "--data-dir", str(tmp_path / STORE.node_id)),
            "agent": shopfloor("devices", "run", "--config", str(config)),
            "hub": hub_argv,
            "python": BARE,
        }
        procs = {name: stack.enter_context(spawned(name, a, logs)) for name, a in argvs.items()}
        tokens = json.loads((tmp_path / TOKENS_FILE).read_text(encoding="utf-8"))
        till = {"Authorization": f"Bearer {tokens[STORE.node_id]}"}
        http = stack.enter_context(httpx.Client(timeout=10, headers=till))
        pi = StorePi(procs, broker, f"http://127.0.0.1:{node_port}", http, scanner, rig)
        with pi.logs_on_failure():
            for name, port in (("hub", hub_port), ("node", node_port)):
                alive = procs[name].alive
                wait_for_port("127.0.0.1", port, START_TIMEOUT, alive=alive)
            pi.wait_until_ready()
        yield pi


@pytest.mark.bench
def test_memory_of_node_agent_and_broker(bench_results: Results, store_pi: StorePi) -> None:
    rng = random.Random(150)
    sampler = RssSampler(store_pi.pids(), {GROUP: PI})
    stop = threading.Event()
    scans: list[int] = []
    typist = threading.Thread(
        target=lambda: scans.append(store_pi.scan_and_weigh(stop, rng)), name="bench scanner"
    )
    with store_pi.logs_on_failure():
        with sampler.phase("idle"):
            time.sleep(IDLE_S)

        started = time.monotonic()
        with sampler.phase("load"):
            typist.start()
            try:
                recorded = store_pi.trade(rng)
            finally:
                stop.set()
                typist.join()
            store_pi.wait_until_settled(scans[0])
        load_s = time.monotonic() - started

        with sampler.phase("after"):
            time.sleep(AFTER_S)

    assert recorded == SALES
    bench_results.add(
        MemoryTable(
            f"Memory: store node, device agent, Mosquitto ({SALES} sales, {scans[0]} scans)",
            "a bare interpreter (`python -c 'import signal; signal.pause()'`), the floor",
            processes={
                "node": "shopfloor edge run (POS lane, sync)",
                "agent": "shopfloor devices run (scanner, scale, printer)",
                "broker": f"{store_pi.broker.kind} (private)",
                "hub": "shopfloor cloud run (elsewhere in the field: not counted)",
                "python": "a bare interpreter (the floor of each Python process)",
            },
            phases=sampler.phases,
            group=GROUP,
            budget_mib=BUDGET_MIB,
            lifetime=sampler.lifetime_peaks(),
            notes=[
                f"load {load_s:.1f} s: {SALES} sales of 1–3 lines over HTTP, a scan every "
                f"{SCAN_EVERY_S} s, until every op was at the hub and every scan in the basket",
                "RSS counts shared pages (interpreter, libraries) in every process mapping them",
            ],
        )
    )
