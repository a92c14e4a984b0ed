"""The shared fixtures give REAL services: a broker, PostgreSQL, a browser.

If one of these fails, every test built on it would fail for a reason that has nothing to
do with Shopfloor; this file says so first and plainly.
"""

from __future__ import annotations

import asyncio
import http.server
import queue
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode
from playwright.sync_api import Browser

from tests.support import postgres
from tests.support.broker import BrokerProcess
from tests.support.net import free_port, port_accepts, wait_for_port
from web_ui.rendering import make_templates, static_dir

TIMEOUT = 10.0


# --- MQTT ------------------------------------------------------------------------------


def _protocol(broker: BrokerProcess) -> MQTTProtocolVersion:
    # amqtt (the fallback) speaks MQTT 3.1.1 only.
    return (
        MQTTProtocolVersion.MQTTv5 if broker.kind == "mosquitto" else MQTTProtocolVersion.MQTTv311
    )


@contextmanager
def connected_client(broker: BrokerProcess, name: str) -> Iterator[mqtt.Client]:
    """A paho 2.x client with its network thread running, after a successful CONNACK."""
    connacks: queue.Queue[ReasonCode] = queue.Queue()

    def on_connect(
        client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        connacks.put(reason)

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"{name}-{uuid.uuid4().hex[:8]}",
        protocol=_protocol(broker),
    )
    client.on_connect = on_connect
    client.connect(broker.host, broker.port, keepalive=30)
    client.loop_start()
    try:
        reason = connacks.get(timeout=TIMEOUT)
        assert not reason.is_failure, f"CONNACK refused: {reason}"
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


def test_mqtt_broker_carries_a_qos1_message(mqtt_broker: BrokerProcess) -> None:
    topic = f"sf/test/{uuid.uuid4().hex}/infra"
    subscribed = threading.Event()
    received: queue.Queue[mqtt.MQTTMessage] = queue.Queue()

    with connected_client(mqtt_broker, "sub") as sub, connected_client(mqtt_broker, "pub") as pub:
        sub.on_subscribe = lambda client, userdata, mid, codes, props: subscribed.set()
        sub.on_message = lambda client, userdata, msg: received.put(msg)
        sub.subscribe(topic, qos=1)
        assert subscribed.wait(TIMEOUT), "no SUBACK"

        info = pub.publish(topic, "入库 6901234567890 ×3".encode(), qos=1)
        info.wait_for_publish(TIMEOUT)  # PUBACK from the broker
        assert info.is_published()

        msg = received.get(timeout=TIMEOUT)
    assert msg.topic == topic
    assert msg.qos == 1
    assert msg.payload.decode() == "入库 6901234567890 ×3"
    if mqtt_broker.kind == "mosquitto":
        assert "max_queued_messages 1000" in mqtt_broker.config_path.read_text()


def test_private_broker_stops_and_restarts_on_the_same_port(
    private_broker: BrokerProcess,
) -> None:
    port = private_broker.port
    with connected_client(private_broker, "before"):
        pass

    private_broker.stop()
    assert not private_broker.is_running
    assert not port_accepts(private_broker.host, port)
    refused = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=_protocol(private_broker))
    with pytest.raises(ConnectionRefusedError):
        refused.connect(private_broker.host, port)

    private_broker.start()
    assert private_broker.port == port
    assert port_accepts(private_broker.host, port)
    with connected_client(private_broker, "after"):
        pass


def test_private_broker_is_not_the_session_broker(
    mqtt_broker: BrokerProcess, private_broker: BrokerProcess
) -> None:
    assert private_broker.port != mqtt_broker.port
    private_broker.stop(hard=True)
    assert port_accepts(mqtt_broker.host, mqtt_broker.port)


# --- Databases -------------------------------------------------------------------------


def test_postgres_url_is_a_throwaway_database(postgres_url: str | None) -> None:
    if postgres_url is None:
        pytest.skip(postgres.unavailable_reason() or "no PostgreSQL")
    assert postgres_url.startswith("postgresql+psycopg://")
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            assert conn.scalar(sa.text("SELECT current_database()")).startswith("sf_test_")
            conn.execute(sa.text("CREATE TABLE infra_probe (id int PRIMARY KEY, note text)"))
            conn.execute(sa.text("INSERT INTO infra_probe VALUES (1, '仓库')"))
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT note FROM infra_probe WHERE id = 1")) == "仓库"
            conn.execute(sa.text("DROP TABLE infra_probe"))
            conn.commit()
    finally:
        engine.dispose()


def test_hub_db_url_is_an_empty_database(hub_db_url: str) -> None:
    engine = sa.create_engine(hub_db_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE probe (id integer PRIMARY KEY)"))
            conn.execute(sa.text("INSERT INTO probe VALUES (7)"))
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT id FROM probe")) == 7
    finally:
        engine.dispose()


def test_throwaway_database_is_dropped_even_with_open_connections() -> None:
    reason = postgres.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with postgres.throwaway_database() as url:
        name = sa.make_url(url).database
        engine = sa.create_engine(url)
        leaked = engine.connect()  # a test that forgets to close must not block the drop
        leaked.execute(sa.text("SELECT 1"))
    with psycopg.connect(postgres.admin_url(), autocommit=True) as admin:
        row = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    assert row is None
    engine.dispose()


# --- Browser ---------------------------------------------------------------------------


@contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        wait_for_port("127.0.0.1", server.server_port, TIMEOUT)
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)


def test_chromium_loads_a_local_page(browser: Browser, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text(
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        "<title>门店 · Shopfloor</title></head><body><h1>库存</h1></body></html>",
        encoding="utf-8",
    )

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serving(Handler) as base_url:
        page = browser.new_page()
        try:
            page.goto(f"{base_url}/index.html")
            assert page.title() == "门店 · Shopfloor"
            assert page.text_content("h1") == "库存"
        finally:
            page.close()


def test_vendored_htmx_and_sse_extension_run_in_chromium(browser: Browser, tmp_path: Path) -> None:
    """base.html + /static/js as a server would serve them: htmx swaps an SSE event in."""
    (tmp_path / "page.html").write_text(
        '{% extends "base.html" %}{% block content %}'
        '<div id="live" hx-ext="sse" sse-connect="/events" sse-swap="stock">等待</div>'
        "{% endblock %}",
        encoding="utf-8",
    )
    html = (
        make_templates([tmp_path])
        .get_template("page.html")
        .render(locale="zh-CN", csrf_token="tok-123")
    )
    static = static_dir()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, ctype: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/":
                self._send(200, "text/html; charset=utf-8", html.encode())
            elif self.path == "/events":
                body = "event: stock\ndata: <b>库存 5</b>\n\n".encode()
                self._send(200, "text/event-stream; charset=utf-8", body)
            elif self.path.startswith("/static/"):
                path = (static / self.path.removeprefix("/static/")).resolve()
                if static not in path.parents or not path.is_file():
                    self._send(404, "text/plain", b"not found")
                    return
                ctype = {".js": "text/javascript", ".css": "text/css"}.get(path.suffix, "")
                self._send(200, ctype or "application/octet-stream", path.read_bytes())
            else:
                self._send(404, "text/plain", b"not found")

    errors: list[str] = []
    with serving(Handler) as base_url:
        page = browser.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.goto(base_url)
            page.wait_for_selector("#live b", timeout=TIMEOUT * 1000)
            assert page.text_content("#live") == "库存 5"
            assert str(page.evaluate("htmx.version")).startswith("2.")
            assert page.get_attribute("html", "lang") == "zh-CN"
            assert page.get_attribute("body", "hx-headers") == '{"X-CSRF-Token": "tok-123"}'
            font = page.evaluate("getComputedStyle(document.body).fontFamily")
            assert "Noto Sans CJK SC" in font  # our stylesheet, served locally, applied
        finally:
            page.close()
    assert errors == []


def test_asyncio_still_runs_after_a_browser_test() -> None:
    """The browser fixture must not leave Playwright's event loop marked as running."""

    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert asyncio.run(answer()) == 42
