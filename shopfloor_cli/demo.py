"""`shopfloor demo`: a broker, the hub, a store node and a warehouse node on this
machine with a small Chinese catalog and a little simulated trade, until Ctrl-C.

Everything lives under one data directory (default `.shopfloor/demo`), so a second run
picks up where the first stopped: same keys, same ledgers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

CATALOG = [
    ("6901234567890", "农夫山泉 550ml", 200),
    ("6902538005141", "可口可乐 330ml", 350),
    ("6920459905012", "康师傅红烧牛肉面", 450),
    ("6923450656150", "德芙丝滑牛奶巧克力 43g", 1090),
    ("6901028075022", "中华（软）香烟", 4500),
    ("6935284400011", "维达抽纸 3 层 130 抽", 1290),
    ("6907992500010", "伊利纯牛奶 250ml", 320),
    ("6954767412345", "晨光中性笔 0.5mm 黑", 250),
]


@dataclass(frozen=True)
class DemoNode:
    node_id: str
    label: str
    kind: str


NODES = [
    DemoNode("store-sh-xuhui", "上海徐汇店", "store"),
    DemoNode("wh-east", "华东仓", "warehouse"),
]

# The demo's logins. Fixed so the README can name them: the demo serves 127.0.0.1 only.
ADMIN = ("admin", "shopfloor-demo")
STAFF = [  # (id, name, role, PIN)
    ("1001", "王芳", "cashier", "246813"),
    ("2001", "李强", "supervisor", "135792"),
    ("3001", "张伟", "manager", "864209"),
    ("4001", "赵敏", "warehouse", "975318"),
]
TOKENS_FILE = "demo-tokens.json"  # the simulated tills' API tokens, one per node


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="run a hub, a store and a warehouse with simulated trade")
    p.add_argument("--data-dir", type=Path, default=Path(".shopfloor/demo"))
    p.add_argument("--hub-port", type=int, default=8700)
    p.add_argument(
        "--duration",
        type=float,
        default=0.0,
        help="stop after this many seconds (0: run until Ctrl-C)",
    )
    p.add_argument("--no-activity", action="store_true", help="no simulated sales and receipts")
    p.set_defaults(func=_run)


def _port(preferred: int) -> int:
    from shopfloor_cli.net import free_port

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            port: int = free_port()
            return port
    return preferred


def prepare(
    base: Path,
    broker_port: int,
    protocol: str,
    ports: dict[str, int],
    store_extra: dict[str, Any] | None = None,
) -> None:
    """Keys, settings, enrollment, the catalog and the logins, done once (later runs
    reuse them); the simulated tills' API tokens, issued afresh each run."""
    from cloud.accounts.users import count_admins, create_user
    from cloud.hub import Hub
    from cloud.registry import enroll_node
    from cloud.services.catalog import set_catalog_item
    from cloud.services.staff import create_staff, find_staff
    from cloud.settings import HubSettings
    from domain.access.tokens import issue_token
    from domain.catalog.kinds import ItemFields
    from domain.catalog.queries import catalog as read_catalog
    from edge.node import Node
    from edge.scopes import TOKEN_SCOPES
    from edge.settings import EdgeSettings
    from sync_protocol.hlc import system_ms
    from sync_protocol.signing import NodeKey

    hub = Hub.open(HubSettings(data_dir=base / "hub"), with_ingest=False)
    tokens: dict[str, str] = {}
    try:
        for node in NODES:
            settings = EdgeSettings(
                data_dir=base / node.node_id,
                node_id=node.node_id,
                label=node.label,
                kind=node.kind,  # type: ignore[arg-type]
                hub_public_key=hub.key.public_b64,
                broker_port=broker_port,
                broker_protocol=protocol,  # type: ignore[arg-type]
                http_port=ports[node.node_id],
                http_host="127.0.0.1",
                # The store's POS lane and its simulated scanner, scale and printer.
                extra=(store_extra or {}) if node.kind == "store" else {},
            )
            settings.save()
            key = NodeKey.load_or_create(settings.key_path)
            enroll_node(hub.store, node.node_id, key.public_b64, node.label)
            ledger = Node.open(settings, with_sync=False)
            try:
                tokens[node.node_id], _ = issue_token(
                    ledger.ledger.engine,
                    "demo till",
                    TOKEN_SCOPES,
                    known_scopes=TOKEN_SCOPES,
                    created_by="demo",
                    now_ms=system_ms(),
                )
            finally:
                ledger.close()
        with hub.store.read() as conn:
            empty = not read_catalog(conn)
        if empty:
            for sku, name, price in CATALOG:
                set_catalog_item(
                    hub.store, sku, ItemFields(name=name, price_fen=price, unit="件"), "demo"
                )
        if not count_admins(hub.store.engine):
            create_user(
                hub.store.engine,
                ADMIN[0],
                ADMIN[1],
                role="admin",
                display_name="演示管理员",
                now_ms=system_ms(),
            )
        for staff_id, name, role, pin in STAFF:
            if find_staff(hub.store, staff_id) is None:
                create_staff(
                    hub.store,
                    staff_id,
                    name=name,
                    role=role,  # type: ignore[arg-type]
                    pin=pin,
                    actor="demo",
                )
    finally:
        hub.close()
    path = base / TOKENS_FILE
    path.write_text(json.dumps(tokens, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o600)


def _run(args: argparse.Namespace) -> int:
    from shopfloor_cli.broker import BrokerProcess, pdeathsig_prefix
    from shopfloor_cli.net import wait_for_port

    base: Path = args.data_dir.resolve()
    base.mkdir(parents=True, exist_ok=True)
    broker = BrokerProcess(base / "broker")
    broker.start()
    protocol = "5" if broker.kind == "mosquitto" else "3.1.1"
    hub_port = _port(args.hub_port)
    ports = {node.node_id: _port(args.hub_port + 1 + i) for i, node in enumerate(NODES)}
    from devices.simulators.demo_rig import start_demo_rig

    rig = start_demo_rig(
        base / "devices",
        broker_port=broker.port,
        broker_protocol=protocol,
        codes=[sku for sku, _, _ in CATALOG],
    )
    prepare(base, broker.port, protocol, ports, store_extra=rig.edge_extra())

    cli = [sys.executable, "-m", "shopfloor_cli.main"]
    logs = base / "logs"
    logs.mkdir(exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(name: str, argv: list[str]) -> None:
        log = (logs / f"{name}.log").open("ab")
        # pdeathsig: if the demo itself is killed, its hub, nodes and agent go too.
        procs.append(
            subprocess.Popen(
                [*pdeathsig_prefix(), *cli, *argv], stdout=log, stderr=subprocess.STDOUT
            )
        )

    hub_args = [
        "cloud",
        "run",
        "--data-dir",
        str(base / "hub"),
        "--broker-port",
        str(broker.port),
        "--broker-protocol",
        protocol,
        "--http-host",
        "127.0.0.1",
        "--http-port",
        str(hub_port),
    ]
    if protocol != "5":
        hub_args.append("--no-shared-subscription")
    spawn("hub", hub_args)
    spawn("devices", ["devices", "run", "--config", str(rig.config_path)])
    for node in NODES:
        spawn(
            node.node_id,
            [
                "edge",
                "run",
                "--data-dir",
                str(base / node.node_id),
                "--broker-port",
                str(broker.port),
            ],
        )

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        for port in (hub_port, *ports.values()):
            wait_for_port("127.0.0.1", port, timeout=30)
        store_url = f"http://127.0.0.1:{ports[NODES[0].node_id]}"
        print("Shopfloor demo is running / 演示已启动:")
        print(f"  总部控制台 HQ console      http://127.0.0.1:{hub_port}/")
        for node in NODES:
            print(f"  {node.label} {node.node_id:<16} http://127.0.0.1:{ports[node.node_id]}/")
        print(f"  1号收银台 POS lane (scanner, scale, printer)  {store_url}/ws/lane-1")
        print(f"  MQTT broker ({broker.kind})   127.0.0.1:{broker.port}")
        print(f"  HQ login 总部登录: {ADMIN[0]} / {ADMIN[1]}")
        print(
            "  staff PIN 员工登录: "
            + ", ".join(f"{name} {staff_id}/{pin}（{role}）" for staff_id, name, role, pin in STAFF)
        )
        print(f"  logs: {logs}   (Ctrl-C to stop / 按 Ctrl-C 停止)")
        sys.stdout.flush()
        if not args.no_activity:
            tokens = json.loads((base / TOKENS_FILE).read_text(encoding="utf-8"))
            threading.Thread(target=_trade, args=(ports, tokens, stop), daemon=True).start()
        deadline = time.monotonic() + args.duration if args.duration else None
        while not stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            if any(p.poll() is not None for p in procs):
                print("a demo process exited; see the logs", file=sys.stderr)
                return 1
            stop.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        for p in procs:
            with contextlib.suppress(ProcessLookupError):
                p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        broker.stop()
        rig.stop()
        print("demo stopped / 演示已停止")
    return 0


def _trade(ports: dict[str, int], tokens: dict[str, str], stop: threading.Event) -> None:
    """Receipts at the warehouse and the store; sales at the store of what is on its
    shelves (a till does not sell what the store does not have). Each node's simulated
    till calls its API with that node's token."""
    rng = random.Random(os.getpid())
    store, warehouse = (f"http://127.0.0.1:{ports[n.node_id]}" for n in NODES)
    store_id, warehouse_id = (n.node_id for n in NODES)
    at_store = {"Authorization": f"Bearer {tokens[store_id]}"}
    at_warehouse = {"Authorization": f"Bearer {tokens[warehouse_id]}"}
    with httpx.Client(timeout=5) as http:
        while not stop.is_set():
            try:
                for sku, _, _ in CATALOG:
                    if rng.random() < 0.3:
                        qty = rng.randint(5, 50)
                        body = {"sku": sku, "qty": qty}
                        http.post(f"{warehouse}/api/stock/receive", json=body, headers=at_warehouse)
                stock = http.get(f"{store}/api/stock", headers=at_store).json()
                on_hand = {r["sku"]: r["qty"] for r in stock}
                for sku, qty in on_hand.items():
                    if qty < 6:  # the store restocks what runs low
                        body = {"sku": sku, "qty": 24}
                        http.post(f"{store}/api/stock/receive", json=body, headers=at_store)
                        on_hand[sku] = qty + 24
                if not on_hand:  # the catalog has not reached the store yet
                    stop.wait(1.0)
                    continue
                basket = rng.sample(sorted(on_hand), k=min(len(on_hand), rng.randint(1, 3)))
                lines = [{"sku": sku, "qty": rng.randint(1, 3)} for sku in basket]
                http.post(f"{store}/api/sales", json={"lines": lines}, headers=at_store)
            except httpx.HTTPError:
                pass  # a node restarting; try again next round
            stop.wait(rng.uniform(2.0, 5.0))
