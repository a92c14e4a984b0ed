"""One owner thread per device: open, read, publish, obey commands, reopen after loss.

The thread is the only one that touches its device (STYLE §5). Its loop::

    handle what the MQTT link queued (connected → subscribe + republish the status;
                                       command → run it, answer with a CommandResult)
    device closed?  try to open it when its backoff delay has passed
    device open?    poll it (≤ poll_timeout) and publish what it produced

``DeviceUnavailable`` (unplugged, port error) closes the device, publishes ``offline``
with the reason, and schedules a reopen after reopen_min_s, doubling up to reopen_max_s;
the first successful open publishes ``online`` again. Any other exception from a driver
is logged with its traceback and handled the same way, so one faulty device never stops
the agent or its other devices.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from typing import Any

from devices.agent.adapters import DeviceAdapter, Output
from devices.agent.commands import InvalidCommand, parse_command, request_id_of
from devices.agent.link import CommandReceived, Connected, DeviceLink, Disconnected
from devices.agent.topics import cmd_topic, event_topic, status_topic
from devices.errors import CommandRejected, DeviceError, DeviceUnavailable, ProtocolError
from devices.events import CommandResult, DeviceState, DeviceStatus, utc_now

log = logging.getLogger(__name__)

POLL_TIMEOUT = 0.2


def _dumps(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def will_payload(adapter: DeviceAdapter, agent_id: str) -> bytes:
    """The retained ``offline`` status the broker publishes if the agent dies."""
    model, port = adapter.describe()
    status = DeviceStatus(
        adapter.device_id, "offline", model, port, "the device agent is gone (Last Will)"
    )
    return _dumps({**status.to_json(), "kind": adapter.kind, "agent": agent_id})


class DeviceRunner:
    def __init__(
        self,
        adapter: DeviceAdapter,
        link: DeviceLink,
        *,
        agent_id: str,
        reopen_min_s: float = 0.5,
        reopen_max_s: float = 10.0,
        poll_timeout: float = POLL_TIMEOUT,
    ) -> None:
        self.adapter = adapter
        self.link = link
        self.agent_id = agent_id
        self.device_id = adapter.device_id
        self.reopen_min_s = reopen_min_s
        self.reopen_max_s = reopen_max_s
        self.poll_timeout = poll_timeout
        self.is_open = False
        self.failures = 0  # consecutive failed opens, for the backoff
        self._next_open = 0.0
        self._status = self._closed_status("offline", "starting")
        self._published: dict[str, Any] | None = None  # last status payload, without ts
        self._tried_open = False  # no status is published before the first open attempt
        # Statuses go out only after the command subscription was sent on this connection:
        # the broker handles packets in order, so whoever sees "online" can send commands.
        self._subscribed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- statuses ------------------------------------------------------------------------

    def _closed_status(self, state: DeviceState, detail: str) -> DeviceStatus:
        model, port = self.adapter.describe()
        return DeviceStatus(self.device_id, state, model, port, detail, utc_now())

    def status_payload(self, status: DeviceStatus | None = None) -> dict[str, Any]:
        status = status or self._status
        return {
            **status.to_json(),
            "kind": self.adapter.kind,
            "agent": self.agent_id,
            **self.adapter.status_extra(),
        }

    def _set_status(self, status: DeviceStatus) -> None:
        if (status.state, status.detail) != (self._status.state, self._status.detail):
            level = logging.INFO if status.state == "online" else logging.WARNING
            log.log(level, "%s %s %s", self.device_id, status.state, status.detail)
        self._status = status
        self._publish_status()

    def _publish_status(self, *, force: bool = False) -> None:
        if not self._subscribed:
            return  # published when the connection is (re)made
        payload = self.status_payload()
        comparable = {k: v for k, v in payload.items() if k != "ts"}
        if not force and comparable == self._published:
            return
        if self.link.publish(status_topic(self.device_id), _dumps(payload), retain=True):
            self._published = comparable

    def _emit(self, item: Output) -> None:
        if isinstance(item, DeviceStatus):
            self._set_status(item)
            return
        if not self.link.publish(event_topic(self.device_id), _dumps(item.to_json())):
            log.warning("%s: broker unreachable, dropped %s", self.device_id, item.TYPE)

    # -- thread ------------------------------------------------------------------------

    def start(self) -> None:
        self.link.start()
        self._thread = threading.Thread(target=self._run, name=f"device {self.device_id}")
        self._thread.daemon = True
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._loop_once()
        except Exception:  # pragma: no cover - _loop_once already contains device faults
            log.exception("device %s: runner crashed", self.device_id)
        finally:
            self._close()
            final = self._closed_status("offline", "the device agent stopped")
            self.link.stop(_dumps(self.status_payload(final)))

    def _loop_once(self) -> None:
        if not self._tried_open and not self._subscribed:
            self._drain_inbox(0.5)  # nothing is opened before the bus can carry its events
            return
        if not self.is_open:
            wait = self._next_open - time.monotonic()
            if wait > 0:
                self._drain_inbox(min(wait, 0.5))
                return
            self._drain_inbox(0)
            self._try_open()
            return
        self._drain_inbox(0)
        try:
            outputs = self.adapter.poll(self.poll_timeout)
        except DeviceUnavailable as exc:
            self._lost(str(exc), "offline")
            return
        except Exception as exc:
            log.exception("device %s failed while reading", self.device_id)
            self._lost(f"{type(exc).__name__}: {exc}", "error")
            return
        for item in outputs:
            self._emit(item)
        self._publish_status()  # a printer's job list may have changed

    def _try_open(self) -> None:
        self._tried_open = True
        try:
            status = self.adapter.open()
        except DeviceUnavailable as exc:
            self._failed_open(str(exc), "offline")
            return
        except Exception as exc:  # config error (bad recording file…) or driver bug
            log.exception("device %s could not be opened", self.device_id)
            self._failed_open(f"{type(exc).__name__}: {exc}", "error")
            return
        self.is_open = True
        self.failures = 0
        self._set_status(status)

    def _failed_open(self, detail: str, state: DeviceState) -> None:
        self._close()
        self.failures += 1
        delay = min(self.reopen_max_s, self.reopen_min_s * 2 ** (self.failures - 1))
        self._next_open = time.monotonic() + delay
        self._set_status(self._closed_status(state, detail))

    def _lost(self, detail: str, state: DeviceState) -> None:
        self._close()
        self.failures = 0
        self._next_open = time.monotonic() + self.reopen_min_s
        self._set_status(self._closed_status(state, detail))

    def _close(self) -> None:
        self.is_open = False
        try:
            self.adapter.close()
        except Exception:
            log.exception("device %s: close failed", self.device_id)

    # -- the link's inbox ----------------------------------------------------------------

    def _drain_inbox(self, timeout: float) -> None:
        """Handle queued link events; wait up to ``timeout`` for the first one."""
        try:
            event = (
                self.link.inbox.get(timeout=timeout)
                if timeout > 0
                else self.link.inbox.get_nowait()
            )
        except queue.Empty:
            return
        while True:
            if isinstance(event, Connected):
                self.link.subscribe_commands()
                self._subscribed = True
                if self._tried_open:  # the retained status may be gone (broker restart)
                    self._publish_status(force=True)
                if self.is_open:
                    self.adapter.resync()
            elif isinstance(event, Disconnected):
                self._subscribed = False
                log.warning("device %s: broker connection lost (%s)", self.device_id, event.reason)
            elif isinstance(event, CommandReceived):
                if event.topic == cmd_topic(self.device_id):
                    self._command(event.payload)
                else:  # amqtt hands out retained messages of other topics on subscribe
                    log.debug("device %s: ignored a message on %s", self.device_id, event.topic)
            try:
                event = self.link.inbox.get_nowait()
            except queue.Empty:
                return

    def _command(self, payload: bytes) -> None:
        name, request_id = "?", request_id_of(payload)
        try:
            command = parse_command(payload)
            name, request_id = command.name, command.request_id
            if command.name == "status":
                self._publish_status(force=True)
                result = CommandResult(self.device_id, "status", request_id, True, "published")
            elif command.name not in self.adapter.commands:
                takes = ", ".join((*self.adapter.commands, "status"))
                raise InvalidCommand(
                    f"unknown command {command.name!r}; {self.device_id} takes: {takes}"
                )
            elif not self.is_open:
                raise DeviceUnavailable(
                    f"{self.device_id} is {self._status.state}: {self._status.detail}"
                )
            else:
                result = self.adapter.handle(command)
        except (InvalidCommand, ProtocolError, CommandRejected, DeviceUnavailable) as exc:
            log.warning(
                "device %s: command %s refused: %s (%r)", self.device_id, name, exc, payload[:200]
            )
            result = CommandResult(self.device_id, name, request_id, False, str(exc))
        except DeviceError as exc:
            result = CommandResult(self.device_id, name, request_id, False, str(exc))
        except Exception as exc:
            log.exception("device %s: command %s failed", self.device_id, name)
            result = CommandResult(
                self.device_id, name, request_id, False, f"{type(exc).__name__}: {exc}"
            )
        self._emit(result)
        self._publish_status()
