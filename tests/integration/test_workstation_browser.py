"""A cashier's screen in Chromium: an unknown barcode is shown at once, the lane goes on."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from playwright.sync_api import Browser, expect

from devices.agent.topics import event_topic, status_topic
from devices.agent.watch import BusWatcher
from devices.events import DeviceStatus, ScanEvent
from edge.app import create_app
from edge.settings import EdgeSettings
from edge.workstations import install
from sync_protocol.signing import NodeKey
from tests.support.access import CASHIER, hub_signed_staff, log_in_staff
from tests.support.broker import BrokerProcess
from tests.support.serving import serving

TIMEOUT = 10.0
COLA = "6902538005141"
UNKNOWN = "6900000000017"


def wait_until(check: Callable[[], Any], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def lane_app(tmp_path: Path, broker: BrokerProcess, scanner: str) -> FastAPI:
    hub_key = NodeKey.generate()
    settings = EdgeSettings(
        data_dir=tmp_path / "store",
        node_id="store-1",
        label="上海徐汇店",
        hub_public_key=hub_key.public_b64,
        broker_port=1,  # uplink unused (no sync)
        extra={
            "device_broker": {"host": broker.host, "port": broker.port},
            "workstations": {"lane-1": {"kind": "pos", "label": "1号收银台", "devices": [scanner]}},
        },
    )
    app = create_app(settings, with_sync=False)
    app.state.node.ledger.apply(hub_signed_staff(tmp_path, hub_key, CASHIER))
    install(app, app.state.node)
    with app.state.node.ledger.write() as txn:
        txn.append(
            "catalog.item_set",
            {"sku": COLA, "fields": {"name": "可口可乐 330ml", "price_fen": 350}},
            "hq",
        )
    return app


def test_an_unknown_barcode_shows_on_the_lane_screen_and_the_lane_keeps_working(
    browser: Browser, mqtt_broker: BrokerProcess, tmp_path: Path
) -> None:
    scanner = f"lane1-scanner-{uuid.uuid4().hex[:8]}"
    app = lane_app(tmp_path, mqtt_broker, scanner)
    errors: list[str] = []

    def scan(bus: BusWatcher, code: str) -> None:
        payload = json.dumps(ScanEvent(scanner, code, None).to_json()).encode()
        bus.publish(event_topic(scanner), payload)

    with (
        serving(app) as url,
        BusWatcher(mqtt_broker.host, mqtt_broker.port, device=scanner) as bus,
    ):
        assert app.state.workstations.wait_ready(TIMEOUT)
        page = browser.new_page(locale="zh-CN")  # a Chinese till: Accept-Language zh-CN
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            log_in_staff(page, url, CASHIER[0], CASHIER[3], then="/ws/lane-1")
            expect(page.get_by_test_id("ws-title")).to_contain_text("1号收银台")
            expect(page.locator(f'[data-device="{scanner}"]')).to_have_attribute(
                "data-state", "unknown"
            )
            # No reload from here on: what changes arrives over the page's SSE stream.
            scan(bus, UNKNOWN)
            alert = page.get_by_test_id("ws-error")
            expect(alert).to_be_visible(timeout=TIMEOUT * 1000)
            expect(alert).to_contain_text(f"未知条码：{UNKNOWN}")

            status = DeviceStatus(scanner, "online", "Honeywell 1900", "/dev/input/x", "")
            bus.publish(status_topic(scanner), json.dumps(status.to_json()).encode())
            expect(page.locator(f'[data-device="{scanner}"]')).to_have_attribute(
                "data-state", "online", timeout=TIMEOUT * 1000
            )

            page.goto(f"{url}/ws/lane-1?lang=en")  # the same screen in English
            expect(page.get_by_test_id("ws-error")).to_contain_text(f"Unknown barcode: {UNKNOWN}")

            scan(bus, COLA)  # the edge is still routing: the next item arrives live
            row = page.locator(f'[data-testid="ws-line"][data-sku="{COLA}"]')
            expect(row).to_contain_text("可口可乐 330ml", timeout=TIMEOUT * 1000)
            expect(row).to_contain_text("¥3.50")
            expect(page.get_by_test_id("ws-error")).to_have_count(0)
        finally:
            page.close()
        assert httpx.get(f"{url}/healthz", timeout=TIMEOUT).json()["status"] == "ok"
    assert errors == []
