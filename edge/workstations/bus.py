"""The edge's subscription to the local device bus: ``sf/dev/+/event`` and ``…/status``.

One paho client; its callbacks only enqueue (DESIGN §9). A worker thread of ours takes
messages off the queue in order and hands them to ``handler`` (the router), so a slow
catalog lookup never blocks paho's network thread, and one bad message never stops the
next: anything the handler raises is logged and the loop goes on.

Clean session on purpose: scans made while the edge was down are stale (the customer has
left the lane) and must not be replayed into a basket; retained statuses are sent again
on every subscribe, so the badges are right after a restart anyway.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from devices.agent.topics import PREFIX
from edge.workstations.config import DeviceBrokerAddress

log = logging.getLogger(__name__)

TOPICS = (f"{PREFIX}/+/event", f"{PREFIX}/+/status")


@dataclass(frozen=True)
class _Connected:
    pass


@dataclass(frozen=True)
class _Subscribed:
    pass


@dataclass(frozen=True)
class _Message:
    topic: str
    payload: bytes


@dataclass(frozen=True)
class _Stop:
    pass


_Item = _Connected | _Subscribed | _Message | _Stop


class DeviceBus:
    def __init__(
        self,
        broker: DeviceBrokerAddress,
        handler: Callable[[str, bytes], None],
        *,
        client_id: str | None = None,
    ) -> None:
        self.broker = broker
        self.handler = handler
        self.ready = threading.Event()  # subscribed on the current connection
        self._inbox: queue.Queue[_Item] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"sf-edge-devices-{uuid.uuid4().hex[:8]}",
            protocol=paho.MQTTv5 if broker.protocol == "5" else paho.MQTTv311,
            reconnect_on_failure=True,
        )
        self._client.reconnect_delay_set(min_delay=1, max_delay=5)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = lambda *_a: self._inbox.put(_Subscribed())
        self._client.on_message = self._on_message

    # -- paho callbacks: enqueue only ------------------------------------------------------

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        if reason.is_failure:
            log.warning("device broker refused the connection: %s", reason)
            return
        self._inbox.put(_Connected())

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        self.ready.clear()
        log.warning("device broker connection lost: %s", reason)

    def _on_message(self, _c: Any, _u: Any, message: paho.MQTTMessage) -> None:
        self._inbox.put(_Message(message.topic, bytes(message.payload)))

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="device-bus", daemon=True)
        self._thread.start()
        self._client.connect_async(self.broker.host, self.broker.port, keepalive=15)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self._inbox.put(_Stop())
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def wait_ready(self, timeout: float = 10.0) -> bool:
        return self.ready.wait(timeout)

    # -- the worker ----------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            item = self._inbox.get()
            if isinstance(item, _Stop):
                return
            if isinstance(item, _Connected):
                self._client.subscribe([(topic, 1) for topic in TOPICS])
            elif isinstance(item, _Subscribed):
                log.info("listening to devices on %s:%d", self.broker.host, self.broker.port)
                self.ready.set()
            else:
                try:
                    self.handler(item.topic, item.payload)
                except Exception:
                    log.exception("device message on %s could not be handled", item.topic)
