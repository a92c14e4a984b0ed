"""Watch the device bus and send commands: ``shopfloor devices watch`` / ``devices send``.

``BusWatcher`` subscribes to ``sf/dev/{device}/#`` (``+`` for every device) and keeps
what arrives, decoded, so a technician (or a test) can see and wait for it::

    with BusWatcher("127.0.0.1", 1883, device="lane1-printer") as bus:
        bus.send("lane1-printer", {"cmd": "print", "receipt": {...}})
        bus.wait_for(lambda m: m.channel == "event" and m.data.get("type") == "print_job")

A clean session and a random client id: a watcher never takes over anyone's session.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from devices.agent.topics import PREFIX, Channel, cmd_topic, parse_topic


@dataclass(frozen=True)
class BusMessage:
    device: str
    channel: Channel
    retained: bool
    payload: bytes
    received_at: float  # time.monotonic()

    @property
    def data(self) -> dict[str, Any]:
        """The payload as a JSON object ({} when it is not one)."""
        try:
            value = json.loads(self.payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return {}
        return value if isinstance(value, dict) else {}


class BusWatcher:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 1883,
        *,
        device: str = "+",
        protocol: str = "5",
        on_message: Callable[[BusMessage], None] | None = None,
    ) -> None:
        self.host, self.port, self.device = host, port, device
        self.messages: list[BusMessage] = []
        self._on_message_cb = on_message
        self._cond = threading.Condition()
        self._subscribed: queue.Queue[bool] = queue.Queue()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"sf-watch-{uuid.uuid4().hex[:12]}",
            protocol=paho.MQTTv5 if protocol == "5" else paho.MQTTv311,
        )
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *_a: self._subscribed.put(True)
        self._client.on_message = self._on_message

    def _on_connect(self, client: paho.Client, *_a: Any) -> None:
        client.subscribe(f"{PREFIX}/{self.device}/#", qos=1)  # paho queues it; no wait

    def _on_message(self, _c: Any, _u: Any, msg: paho.MQTTMessage) -> None:
        parsed = parse_topic(msg.topic)
        if parsed is None:
            return
        message = BusMessage(
            parsed[0], parsed[1], bool(msg.retain), bytes(msg.payload), time.monotonic()
        )
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()
        if self._on_message_cb is not None:
            self._on_message_cb(message)

    def start(self, timeout: float = 10.0) -> BusWatcher:
        """Connect and subscribe; return once the broker confirmed the subscription."""
        self._client.connect(self.host, self.port, keepalive=30)
        self._client.loop_start()
        try:
            self._subscribed.get(timeout=timeout)
        except queue.Empty:
            self.stop()
            raise TimeoutError(
                f"no subscription on {self.host}:{self.port} within {timeout}s"
            ) from None
        return self

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> BusWatcher:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- sending -------------------------------------------------------------------------

    def send(self, device: str, command: dict[str, Any] | bytes, timeout: float = 5.0) -> None:
        """Publish a command (a dict as JSON, or raw bytes) to ``sf/dev/{device}/cmd``."""
        payload = (
            command
            if isinstance(command, bytes)
            else json.dumps(command, ensure_ascii=False).encode("utf-8")
        )
        self.publish(cmd_topic(device), payload, timeout=timeout)

    def publish(
        self, topic: str, payload: bytes, *, retain: bool = False, timeout: float = 5.0
    ) -> None:
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(timeout)

    # -- reading -------------------------------------------------------------------------

    def select(
        self, device: str | None = None, channel: Channel | None = None, type_: str | None = None
    ) -> list[BusMessage]:
        with self._cond:
            found = list(self.messages)
        return [
            m
            for m in found
            if (device is None or m.device == device)
            and (channel is None or m.channel == channel)
            and (type_ is None or m.data.get("type") == type_)
        ]

    def wait_for(
        self, predicate: Callable[[BusMessage], bool], timeout: float = 10.0, what: str = ""
    ) -> BusMessage:
        """The first message (already received or arriving) that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for message in self.messages[seen:]:
                    if predicate(message):
                        return message
                seen = len(self.messages)
                left = deadline - time.monotonic()
                if left <= 0:
                    recent = "; ".join(
                        f"{m.device}/{m.channel} {m.payload[:160]!r}" for m in self.messages[-8:]
                    )
                    raise TimeoutError(
                        f"no bus message {what or 'matching'} within {timeout}s; last: {recent}"
                    )
                self._cond.wait(left)

    def wait_for_status(
        self, device: str, state: str, timeout: float = 10.0, after: float = 0.0
    ) -> BusMessage:
        """The first status of ``device`` in ``state`` received at/after ``after``."""
        return self.wait_for(
            lambda m: (
                m.device == device
                and m.channel == "status"
                and m.received_at >= after
                and m.data.get("state") == state
            ),
            timeout,
            f"{device} {state}",
        )
