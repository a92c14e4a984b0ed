"""Device messages in, workstation state out.

``DeviceRouter.handle(topic, payload)`` takes one message from the device bus
(``sf/dev/{device}/event`` or ``…/status``), finds the workstation the device belongs
to and applies it:

- a scan at a POS lane looks the code up in the catalog (barcode field, else SKU) and
  adds the item to that lane's basket; at a receiving desk it stages the item for
  receiving (or receives one unit at once with ``auto_receive``); at a packing bench it
  is added to the packed list;
- a weight is shown live; print-job and command results go to the workstation's log;
- a status updates the device's online/offline badge.

Bad input never raises out of ``handle``: an unknown barcode becomes a visible alert on
that workstation plus a recorded incident; a payload that is not a valid device event
(not JSON, wrong fields, a device id that does not match its topic) is recorded and, if
the device belongs to a workstation, shown there. I/O is injected (``lookup``,
``receive``, ``record``) so the router is tested without a database or a broker.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devices.agent.topics import parse_topic
from devices.errors import InvalidEvent
from devices.events import (
    CommandResult,
    DeviceStatus,
    PrintJobStatus,
    ScanEvent,
    WeightEvent,
    event_from_json,
    utc_now,
)
from domain.errors import BusinessRuleError, NotFound
from edge.workstations.config import RoutingConfig, WorkstationConfig
from edge.workstations.state import (
    CatalogHit,
    DeviceView,
    Notice,
    NoticeLevel,
    WeightView,
    WorkstationState,
)
from sync_protocol.errors import ShopfloorError

log = logging.getLogger(__name__)

Lookup = Callable[[str], CatalogHit | None]
Receive = Callable[[str, int, str], int]  # (sku, qty, actor) -> on hand afterwards


@dataclass(frozen=True)
class Incident:
    """A device message we could not use, kept for the operator and the manager."""

    kind: str  # malformed_payload | unknown_barcode | routing_error
    device: str
    workstation: str | None
    reason: str
    payload: str
    at: datetime


Record = Callable[[Incident], None]


def _text(payload: bytes, limit: int = 2000) -> str:
    return payload[:limit].decode("utf-8", errors="replace")


class DeviceRouter:
    def __init__(
        self,
        config: RoutingConfig,
        lookup: Lookup,
        *,
        receive: Receive | None = None,
        record: Record | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        self.lookup = lookup
        self.receive = receive
        self._record = record
        self.clock = clock
        self.lock = threading.RLock()
        self.states = {ws.id: WorkstationState(ws) for ws in config.workstations}
        self.devices: dict[str, DeviceView] = {}  # every device heard of, assigned or not
        self.incidents: deque[Incident] = deque(maxlen=200)
        self.stats: Counter[str] = Counter()

    # -- entry point -------------------------------------------------------------------

    def handle(self, topic: str, payload: bytes) -> None:
        """Apply one bus message; never raises for bad input."""
        parsed = parse_topic(topic)
        if parsed is None or parsed[1] == "cmd":
            return
        device, channel = parsed
        ws = self.config.workstation_of(device)
        self.stats["messages"] += 1
        try:
            if channel == "status":
                self._status_message(device, ws, payload)
            else:
                self._event_message(device, ws, payload)
        except Exception as exc:  # a bug here must not stop the bus; make it visible
            log.exception("device %s: routing failed", device)
            self._incident("routing_error", device, ws, f"{type(exc).__name__}: {exc}", payload)
            if ws is not None:
                self._note(ws, "error", "error.generic", device)

    # -- parsing -------------------------------------------------------------------------

    def _decode(self, device: str, ws: WorkstationConfig | None, payload: bytes) -> Any:
        try:
            data = json.loads(payload.decode("utf-8"))
            event = event_from_json(data)
        except (UnicodeDecodeError, json.JSONDecodeError, InvalidEvent) as exc:
            self._malformed(device, ws, payload, str(exc))
            return None
        if event.device != device:
            reason = f"payload names device {event.device!r} on the topic of {device!r}"
            self._malformed(device, ws, payload, reason)
            return None
        return event

    def _malformed(
        self, device: str, ws: WorkstationConfig | None, payload: bytes, reason: str
    ) -> None:
        self.stats["malformed"] += 1
        log.warning("device %s sent a malformed message (%s): %r", device, reason, payload[:200])
        self._incident("malformed_payload", device, ws, reason, payload)
        if ws is not None:
            self._note(ws, "error", "ws.error.malformed", device, device=device, reason=reason)

    def _incident(
        self,
        kind: str,
        device: str,
        ws: WorkstationConfig | None,
        reason: str,
        payload: bytes,
    ) -> None:
        incident = Incident(
            kind, device, ws.id if ws else None, reason, _text(payload), self.clock()
        )
        with self.lock:
            self.incidents.appendleft(incident)
        if self._record is not None:
            try:
                self._record(incident)
            except Exception:
                log.exception("could not record the incident %s of %s", kind, device)

    def _note(
        self, ws: WorkstationConfig, level: NoticeLevel, key: str, source: str = "", **params: Any
    ) -> None:
        """A message on ``ws``; ``source`` is the device it came from ("" for the page)."""
        with self.lock:
            self.states[ws.id].note(Notice(level, key, params, self.clock(), source))

    # -- statuses ------------------------------------------------------------------------

    def _status_message(self, device: str, ws: WorkstationConfig | None, payload: bytes) -> None:
        if not payload:  # the retained status was cleared: we know nothing about it now
            self._set_device(device, ws, DeviceView(device))
            return
        try:
            data = json.loads(payload.decode("utf-8"))
            status = DeviceStatus.from_json(data)
        except (UnicodeDecodeError, json.JSONDecodeError, InvalidEvent) as exc:
            self._malformed(device, ws, payload, str(exc))
            return
        if status.device != device:
            self._malformed(device, ws, payload, f"status of {status.device!r} on {device!r}")
            return
        jobs = data.get("jobs_waiting")
        view = DeviceView(
            id=device,
            state=status.state,
            kind=str(data.get("kind") or ""),
            model=status.model,
            detail=status.detail,
            jobs_waiting=jobs if isinstance(jobs, int) and not isinstance(jobs, bool) else None,
            since=status.ts,
        )
        self._set_device(device, ws, view)

    def _set_device(self, device: str, ws: WorkstationConfig | None, view: DeviceView) -> None:
        with self.lock:
            before = self.devices.get(device)
            self.devices[device] = view
            if ws is None:
                return
            st = self.states[ws.id]
            st.devices[device] = view
            st.touch()
            was = before.state if before else "unknown"
            if was == view.state:
                return
            if view.state in ("offline", "error"):
                st.note(
                    Notice(
                        "warn",
                        "ws.device_down",
                        {"device": device, "detail": view.detail},
                        self.clock(),
                        device,
                    )
                )
            elif view.state == "online" and was in ("offline", "error"):
                st.note(Notice("ok", "ws.device_up", {"device": device}, self.clock(), device))

    # -- events --------------------------------------------------------------------------

    def _event_message(self, device: str, ws: WorkstationConfig | None, payload: bytes) -> None:
        event = self._decode(device, ws, payload)
        if event is None:
            return
        if isinstance(event, DeviceStatus):
            self._status_message(device, ws, payload)
            return
        if ws is None:
            self.stats["unrouted"] += 1
            log.debug("event of %s, which belongs to no workstation", device)
            return
        self.stats["events"] += 1
        if isinstance(event, ScanEvent):
            self._scan(ws, event)
        elif isinstance(event, WeightEvent):
            self._weight(ws, event)
        elif isinstance(event, PrintJobStatus):
            self._print_job(ws, event)
        elif isinstance(event, CommandResult):
            self._command_result(ws, event)

    def _weight(self, ws: WorkstationConfig, event: WeightEvent) -> None:
        view = WeightView(
            event.device,
            event.grams,
            event.stable,
            event.tare_grams,
            event.overload,
            event.underload,
            event.ts,
        )
        with self.lock:
            st = self.states[ws.id]
            st.weight = view
            st.touch()

    def _print_job(self, ws: WorkstationConfig, event: PrintJobStatus) -> None:
        if event.state == "printed":
            self._note(ws, "ok", "ws.printed", event.device, what=event.description)
        elif event.state == "retrying":
            self._note(
                ws,
                "warn",
                "ws.print_waiting",
                event.device,
                what=event.description,
                reason=event.last_error or "",
            )

    def _command_result(self, ws: WorkstationConfig, event: CommandResult) -> None:
        if event.ok:
            self._note(
                ws,
                "info",
                "ws.command_ok",
                event.device,
                device=event.device,
                command=event.command,
                detail=event.detail,
            )
        else:
            self._note(
                ws,
                "error",
                "ws.error.command",
                event.device,
                device=event.device,
                command=event.command,
                detail=event.detail,
            )

    def _scan(self, ws: WorkstationConfig, event: ScanEvent) -> None:
        code = event.code.strip()
        item = self.lookup(code)
        if item is None:
            self.stats["unknown_barcode"] += 1
            log.warning("workstation %s: unknown barcode %r from %s", ws.id, code, event.device)
            self._incident(
                "unknown_barcode",
                event.device,
                ws,
                f"unknown barcode {code!r} at {ws.id}",
                code.encode("utf-8"),
            )
            self._note(ws, "error", "error.unknown_barcode", event.device, barcode=code)
            return
        if ws.kind == "receiving":
            self._scan_to_receive(ws, item, event.device)
            return
        with self.lock:
            st = self.states[ws.id]
            line = st.add_line(item)
            st.note(
                Notice(
                    "ok",
                    "ws.added",
                    {"name": item.name, "qty": line.qty, "sku": item.sku},
                    self.clock(),
                    event.device,
                )
            )
            if ws.kind == "pos" and item.price_fen is None:
                st.note(
                    Notice(
                        "error",
                        "ws.error.no_price",
                        {"name": item.name, "sku": item.sku},
                        self.clock(),
                        event.device,
                    )
                )

    def _scan_to_receive(self, ws: WorkstationConfig, item: CatalogHit, device: str) -> None:
        if not ws.auto_receive:
            with self.lock:
                line = self.states[ws.id].stage_receipt(item)
                self.states[ws.id].note(
                    Notice(
                        "info",
                        "ws.ready_to_receive",
                        {"name": item.name, "qty": line.qty},
                        self.clock(),
                        device,
                    )
                )
            return
        with contextlib.suppress(ShopfloorError):  # already shown on the workstation
            self._receive(ws, item.sku, item.name, 1, f"device:{device}")

    # -- actions from the page ---------------------------------------------------------

    def state(self, ws_id: str) -> WorkstationState:
        state = self.states.get(ws_id)
        if state is None:
            raise NotFound(f"no workstation {ws_id!r}", message_zh=f"没有这个工位：{ws_id}")
        return state

    def view(self, ws_id: str, locale: str = "zh-CN") -> dict[str, Any]:
        with self.lock:
            return self.state(ws_id).view(locale)

    def version(self, ws_id: str) -> int:
        with self.lock:
            return self.state(ws_id).version

    def confirm_receipt(self, ws_id: str, qty: int, actor: str) -> int:
        """Receive the staged item with ``qty``; returns the stock on hand afterwards."""
        with self.lock:
            st = self.state(ws_id)
            pending = st.pending
        if st.config.kind != "receiving" or pending is None:
            self.note(ws_id, "error", "ws.error.nothing_to_receive")
            raise BusinessRuleError("nothing scanned to receive", message_zh="请先扫描要收货的商品")
        on_hand = self._receive(st.config, pending.sku, pending.name, qty, actor)
        with self.lock:
            if st.pending is pending:
                st.pending = None
                st.touch()
        return on_hand

    def _receive(self, ws: WorkstationConfig, sku: str, name: str, qty: int, actor: str) -> int:
        if self.receive is None:
            raise BusinessRuleError("receiving is not available here", message_zh="此处无法收货")
        try:
            on_hand = self.receive(sku, qty, actor)
        except ShopfloorError as exc:
            reason = {"en": exc.message, "zh-CN": exc.message_zh}
            self._note(ws, "error", "ws.error.receive", name=name, reason=reason)
            raise
        self._note(ws, "ok", "ws.received", name=name, qty=qty, on_hand=on_hand)
        return on_hand

    def note(self, ws_id: str, level: NoticeLevel, key: str, **params: Any) -> None:
        """Put a message on a workstation (``level`` "error" also raises its alert)."""
        with self.lock:
            self.state(ws_id).note(Notice(level, key, params, self.clock()))

    def clear(self, ws_id: str) -> None:
        with self.lock:
            self.state(ws_id).clear()

    def dismiss(self, ws_id: str) -> None:
        with self.lock:
            st = self.state(ws_id)
            st.alert = None
            st.touch()
