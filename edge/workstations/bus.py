"""The edge's subscription to the local device bus: ``sf/dev/+/event`` and ``…/status``.

One `MqttLink` (the sync link's adapter, so paho's callbacks only enqueue: DESIGN §9). A
worker thread of ours takes its events off ``link.inbox`` in order: it subscribes on
each connection, and hands every message to ``handler`` (the router), so a slow catalog
lookup never blocks paho's network thread, and one bad message never stops the next:
anything the handler raises is logged and the loop goes on. ``ready`` is set once the
broker has granted the subscription on the current connection, cleared when it drops.

Clean session on purpose: scans made while the edge was down are stale (the customer has
left the lane) and must not be replayed into a basket; retained statuses are sent again
on every subscribe, so the badges are right after a restart anyway.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable

from devices.agent.topics import PREFIX
from edge.workstations.config import DeviceBrokerAddress
from sync_protocol.transport.mqtt import (
    BrokerAddress,
    Connected,
    Disconnected,
    MqttLink,
    Received,
    Subscribed,
    Wake,
)

log = logging.getLogger(__name__)

TOPICS = (f"{PREFIX}/+/event", f"{PREFIX}/+/status")
KEEPALIVE_S = 15
_STOP = "stop"


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
        self.link = MqttLink(
            client_id or f"sf-edge-devices-{uuid.uuid4().hex[:8]}",
            BrokerAddress(broker.host, broker.port, broker.protocol),
            keepalive_s=KEEPALIVE_S,
            clean_session=True,
        )
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="device-bus", daemon=True)
        self._thread.start()
        self.link.start()

    def stop(self) -> None:
        self.link.stop()
        self.link.wake(_STOP)
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self.ready.clear()

    def wait_ready(self, timeout: float = 10.0) -> bool:
        return self.ready.wait(timeout)

    # -- the worker ----------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            event = self.link.inbox.get()
            if isinstance(event, Wake) and event.reason == _STOP:
                return
            if isinstance(event, Connected):
                self.link.subscribe(*TOPICS)
            elif isinstance(event, Subscribed):
                if event.granted:
                    log.info("listening to devices on %s:%d", self.broker.host, self.broker.port)
                    self.ready.set()
                else:
                    log.error("device broker refused the subscription: %s", event.reasons)
            elif isinstance(event, Disconnected):
                self.ready.clear()
                log.warning("device broker connection lost: %s", event.reason)
            elif isinstance(event, Received):
                try:
                    self.handler(event.topic, event.payload)
                except Exception:
                    log.exception("device message on %s could not be handled", event.topic)
