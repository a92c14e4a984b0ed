"""The README's `make demo` runs `shopfloor demo`: it must come up, trade, and stop."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from tests.integration.cluster import wait_until
from tests.support.net import free_port


@pytest.mark.slow
def test_the_demo_runs_a_hub_a_store_and_a_warehouse_that_sync(tmp_path: Path) -> None:
    hub_port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "shopfloor_cli.main", "demo", "--data-dir", str(tmp_path / "demo"),
         "--hub-port", str(hub_port), "--duration", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so a failing test can stop the whole demo
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    try:
        wait_until(
            lambda: any("Ctrl-C" in line for line in lines), 60, "the demo to print its URLs"
        )
        urls = re.findall(r"http://127\.0\.0\.1:\d+/\S*", "".join(lines))
        assert len(urls) == 4, lines
        hub, store, _warehouse, lane = urls
        tokens = json.loads((tmp_path / "demo" / "demo-tokens.json").read_text())
        # The demo's simulated till token for the store; the hub's API by its admin login.
        at_store = {"Authorization": f"Bearer {tokens['store-sh-xuhui']}"}
        at_hq = httpx.Client(timeout=5)
        login = at_hq.get(hub + "login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert csrf is not None, login.text
        said = at_hq.post(
            hub + "login",
            data={"username": "admin", "password": "shopfloor-demo", "csrf_token": csrf[1]},
        )
        assert said.status_code == 303, said.text

        def both_nodes_online_with_trade() -> bool:
            nodes = at_hq.get(hub + "api/nodes").json()
            stock = at_hq.get(hub + "api/stock").json()
            online = {n["node_id"] for n in nodes if n["connected"]}
            traded = {loc for row in stock["rows"] for loc, q in row["by_location"].items() if q}
            return online == {"store-sh-xuhui", "wh-east"} and traded == online

        wait_until(both_nodes_online_with_trade, 40, "both nodes online with stock at the hub")
        page = httpx.get(store, timeout=5, headers=at_store)
        assert page.status_code == 200 and "上海徐汇店" in page.text
        catalog = at_hq.get(hub + "api/catalog").json()
        assert catalog["6902538005141"]["name"] == "可口可乐 330ml"

        def lane_has_scanned_goods() -> bool:
            html = httpx.get(lane, timeout=5, headers=at_store).text
            return 'data-testid="ws-line"' in html and 'data-state="online"' in html

        # The simulated wedge scanner scans catalog barcodes into the POS lane's basket.
        wait_until(lane_has_scanned_goods, 40, "the simulated scanner to fill the lane's basket")
        assert proc.wait(timeout=60) == 0
        reader.join(timeout=5)
        assert any("演示已停止" in line for line in lines)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
