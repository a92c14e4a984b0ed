"""The one thread that works an MQTT link: takes events off its inbox, hands each to
`handle`, and calls `tick` every `tick_every` seconds. The edge's sync agent and the
hub's ingest are both this loop with their own handlers."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from sync_protocol.transport.mqtt import LinkEvent, MqttLink

log = logging.getLogger(__name__)


class LinkPump:
    def __init__(
        self,
        link: MqttLink,
        *,
        name: str,
        handle: Callable[[LinkEvent, float], None],
        tick: Callable[[float], None],
        tick_every: float = 0.5,
    ) -> None:
        self.link = link
        self._handle = handle
        self._tick = tick
        self._tick_every = tick_every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self.link.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.link.wake("stop")
        self._thread.join(timeout=5)

    def _run(self) -> None:
        last_tick = 0.0
        while not self._stop.is_set():
            try:
                event: LinkEvent | None = self.link.inbox.get(timeout=self._tick_every)
            except queue.Empty:
                event = None
            now = time.time()
            try:
                if event is not None:
                    self._handle(event, now)
                if now - last_tick >= self._tick_every:
                    last_tick = now
                    self._tick(now)
            except Exception:
                # One bad event must not stop replication; the next tick resumes from
                # the last ack.
                log.exception("%s: error handling %r", self._thread.name, event)
