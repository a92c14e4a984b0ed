"""Device events on a real broker reach the right workstation of a real edge app."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from devices.agent.agent import Agent
from devices.agent.config import parse_config
from devices.agent.topics import event_topic, status_topic
from devices.agent.watch import BusWatcher
from devices.events import DeviceStatus, ScanEvent, WeightEvent
from edge.app import create_app
from edge.node import Node
from edge.settings import EdgeSettings
from edge.workstations import WorkstationService, install
from edge.workstations.config import DeviceBrokerAddress, RoutingConfig, WorkstationConfig
from sync_protocol.errors import ConfigurationError
from tests.support.access import bearer, node_token
from tests.support.broker import BrokerProcess
from tests.support.serving import serving
from tests.sync.replicas import stock_of

TIMEOUT = 10.0
COLA_BARCODE = "6902538005141"  # the item's barcode field; its SKU is "COLA-330"
WATER = "6901234567890"  # found by SKU: this item has no barcode field
UNKNOWN = "6900000000017"


def wait_until(check: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def seed_catalog(node: Node) -> None:
    """Two items, as the hub would have replicated them."""
    with node.ledger.write() as txn:
        txn.append(
            "catalog.item_set",
            {
                "sku": "COLA-330",
                "fields": {"name": "可口可乐 330ml", "price_fen": 350, "barcode": COLA_BARCODE},
            },
            "hq",
        )
        txn.append(
            "catalog.item_set",
            {"sku": WATER, "fields": {"name": "农夫山泉 550ml", "price_fen": 200}},
            "hq",
        )


@dataclass
class Store:
    """A running edge app with two POS lanes and a receiving desk, and the device bus."""

    client: httpx.Client  # to the app, served by uvicorn on a real socket
    app: FastAPI
    service: WorkstationService
    bus: BusWatcher
    devices: dict[str, str]  # role -> device id (unique per test)

    @property
    def node(self) -> Node:
        node: Node = self.app.state.node
        return node

    def publish(self, device: str, payload: bytes | dict[str, Any], channel: str = "event") -> None:
        data = payload if isinstance(payload, bytes) else _json(payload)
        topic = event_topic(device) if channel == "event" else status_topic(device)
        self.bus.publish(topic, data)

    def scan(self, role: str, code: str) -> None:
        device = self.devices[role]
        self.publish(device, ScanEvent(device, code, None).to_json())

    def view(self, ws: str) -> dict[str, Any]:
        view: dict[str, Any] = self.service.router.view(ws)
        return view


def _json(data: dict[str, Any]) -> bytes:
    import json

    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def store_settings(tmp_path: Path, broker: BrokerProcess, devices: dict[str, str]) -> EdgeSettings:
    return EdgeSettings(
        data_dir=tmp_path / "store",
        node_id="store-1",
        label="测试门店",
        broker_port=1,  # the uplink: unused here (no sync); devices have their own broker
        extra={
            "device_broker": {"host": broker.host, "port": broker.port},
            "workstations": {
                "lane-1": {
                    "kind": "pos",
                    "label": "1号收银台",
                    "devices": [devices["lane1"], devices["scale"], devices["printer"]],
                },
                "lane-2": {"kind": "pos", "label": "2号收银台", "devices": [devices["lane2"]]},
                "recv-1": {"kind": "receiving", "label": "收货台", "devices": [devices["recv"]]},
            },
        },
    )


@pytest.fixture
def store(mqtt_broker: BrokerProcess, tmp_path: Path) -> Iterator[Store]:
    suffix = uuid.uuid4().hex[:8]
    devices = {
        role: f"{role}-{suffix}" for role in ("lane1", "lane2", "scale", "printer", "recv", "stray")
    }
    app = create_app(store_settings(tmp_path, mqtt_broker, devices), with_sync=False)
    service = install(app, app.state.node)
    seed_catalog(app.state.node)
    token = node_token(app.state.node.ledger)
    with (
        serving(app) as url,
        httpx.Client(base_url=url, timeout=TIMEOUT, headers=bearer(token)) as client,
        BusWatcher(mqtt_broker.host, mqtt_broker.port) as bus,
    ):
        assert service.wait_ready(TIMEOUT), "the edge did not subscribe to the device bus"
        yield Store(client, app, service, bus, devices)


# --- POS lanes ---------------------------------------------------------------------------


def test_a_known_barcode_scanned_at_a_pos_lane_lands_in_that_lanes_basket(store: Store) -> None:
    store.scan("lane1", COLA_BARCODE)
    store.scan("lane1", COLA_BARCODE)
    store.scan("lane1", WATER)

    lines = wait_until(lambda: len(store.view("lane-1")["lines"]) == 2, "two basket lines")
    view = store.view("lane-1")
    assert [(ln["sku"], ln["name"], ln["qty"], ln["amount_fen"]) for ln in view["lines"]] == [
        ("COLA-330", "可口可乐 330ml", 2, 700),
        (WATER, "农夫山泉 550ml", 1, 200),
    ]
    assert lines and view["total_fen"] == 900 and view["alert"] is None
    assert store.view("lane-2")["lines"] == []  # the other lane's basket is untouched

    html = store.client.get("/ws/lane-1").text
    for shown in ("1号收银台", "可口可乐 330ml", "¥3.50", "¥7.00", "¥9.00"):
        assert shown in html


def test_an_unknown_barcode_shows_an_error_on_that_workstation_and_is_recorded(
    store: Store,
) -> None:
    store.scan("lane2", UNKNOWN)

    alert = wait_until(lambda: store.view("lane-2")["alert"], "the unknown-barcode alert")
    assert (alert["key"], alert["params"]) == ("error.unknown_barcode", {"barcode": UNKNOWN})
    assert store.view("lane-1")["alert"] is None
    assert f"未知条码：{UNKNOWN}" in store.client.get("/ws/lane-2").text
    assert f"Unknown barcode: {UNKNOWN}" in store.client.get("/ws/lane-2?lang=en").text
    recorded = [
        i for i in store.node.ledger.incidents() if i["disposition"] == "device:unknown_barcode"
    ]
    assert recorded and UNKNOWN in recorded[0]["reason"]
    assert recorded[0]["peer"] == f"device:{store.devices['lane2']}"

    store.scan("lane2", WATER)  # the lane keeps working; a good scan clears the alert
    wait_until(lambda: store.view("lane-2")["lines"], "the next scan in the basket")
    assert store.view("lane-2")["alert"] is None


def test_a_malformed_device_payload_is_recorded_and_the_lane_keeps_working(store: Store) -> None:
    lane1 = store.devices["lane1"]
    store.publish(lane1, b"{not json")
    store.publish(lane1, {"type": "scan", "device": lane1, "code": 42})  # wrong field type
    store.publish(lane1, ScanEvent("someone-else", WATER, None).to_json())  # wrong device
    store.publish(lane1, b"\xff\xfe", channel="status")
    store.scan("lane1", WATER)

    wait_until(lambda: store.view("lane-1")["lines"], "the good scan after the bad ones")
    incidents = [
        i for i in store.node.ledger.incidents() if i["disposition"] == "device:malformed_payload"
    ]
    assert [i["count"] for i in incidents] == [4]  # one row that counts them
    assert store.service.router.stats["malformed"] == 4
    assert store.client.get("/healthz").json()["status"] == "ok"


def test_events_of_a_device_in_no_workstation_are_ignored_but_its_status_is_listed(
    store: Store,
) -> None:
    stray = store.devices["stray"]
    store.publish(stray, ScanEvent(stray, WATER, None).to_json())
    store.publish(
        stray, DeviceStatus(stray, "online", "Zebra DS2208", "/dev/x", "").to_json(), "status"
    )

    wait_until(lambda: store.service.unassigned_devices(), "the stray device to be listed")
    assert all(store.view(ws)["lines"] == [] for ws in ("lane-1", "lane-2"))
    assert "Zebra DS2208" in store.client.get("/ws").text


# --- receiving, weights, statuses --------------------------------------------------------


def test_a_scan_at_the_receiving_desk_is_received_with_the_quantity_typed_in(store: Store) -> None:
    store.scan("recv", COLA_BARCODE)
    pending = wait_until(lambda: store.view("recv-1")["pending"], "the staged item")
    assert (pending["sku"], pending["qty"]) == ("COLA-330", 1)

    response = store.client.post(
        "/ws/recv-1/receive", data={"qty": "24"}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200 and "已收货 可口可乐 330ml ×24" in response.text
    assert stock_of(store.node.ledger)[("COLA-330", "store-1")] == 24
    assert store.view("recv-1")["pending"] is None


def test_a_weight_and_device_statuses_show_on_the_lane(store: Store) -> None:
    scale, printer = store.devices["scale"], store.devices["printer"]
    store.publish(scale, WeightEvent(scale, 1234, True, 0, False, False).to_json())
    store.publish(
        printer,
        {
            **DeviceStatus(
                printer, "offline", "XP-80C", "tcp://10.0.0.9:9100", "unreachable"
            ).to_json(),
            "kind": "printer",
            "jobs_waiting": 2,
        },
        "status",
    )
    store.publish(
        scale,
        {**DeviceStatus(scale, "online", "ACS-30", "/dev/x", "").to_json(), "kind": "scale"},
        "status",
    )

    def all_three_shown() -> dict[str, Any] | None:
        v = store.view("lane-1")
        states = {d["id"]: d["state"] for d in v["devices"]}
        if v["weight"] and states[printer] == "offline" and states[scale] == "online":
            return v
        return None

    view = wait_until(all_three_shown, "the weight and both device statuses")
    assert view["weight"]["text"] == "1.234 kg" and view["weight"]["stable"]
    states = {d["id"]: (d["state"], d["jobs_waiting"]) for d in view["devices"]}
    assert states == {
        store.devices["lane1"]: ("unknown", None),
        scale: ("online", None),
        printer: ("offline", 2),
    }
    html = store.client.get("/ws/lane-1").text
    assert "1.234 kg" in html and "2 个打印任务等待中" in html


# --- the whole chain ---------------------------------------------------------------------


def test_a_scan_from_the_device_agent_reaches_the_lane_basket(
    store: Store, mqtt_broker: BrokerProcess, tmp_path: Path
) -> None:
    config = parse_config(
        {
            "agent": {"id": f"till-{uuid.uuid4().hex[:6]}"},
            "broker": {"host": mqtt_broker.host, "port": mqtt_broker.port},
            "device": [
                {
                    "id": store.devices["lane1"],
                    "kind": "scanner",
                    "driver": "replay",
                    "scans": [COLA_BARCODE],
                    "interval_s": 0.2,
                }
            ],
        },
        tmp_path,
    )
    with Agent(config):
        wait_until(lambda: store.view("lane-1")["lines"], "the agent's scan in the basket")
        wait_until(
            lambda: store.view("lane-1")["devices"][0]["state"] == "online", "the scanner online"
        )
    assert store.view("lane-1")["lines"][0]["name"] == "可口可乐 330ml"


# --- configuration -----------------------------------------------------------------------


def test_a_device_in_two_workstations_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="is in workstations"):
        RoutingConfig(
            DeviceBrokerAddress(),
            (
                WorkstationConfig("lane-1", "pos", "1", ("scanner-1",)),
                WorkstationConfig("lane-2", "pos", "2", ("scanner-1",)),
            ),
        )
