"""Serial scale driver: owns the port, pumps bytes through a protocol parser, and turns
readings into WeightEvents (one per settle) and DeviceStatus changes.

One read cycle = for polled protocols (8217, SICS) send the poll and wait for the
answer; for continuous output wait for the next frames. A scale that stays silent for
``max_missed`` cycles is reported offline (the port is there but the scale is off or on
the wrong baud rate); it comes back online by itself with its next valid frame. A
vanished port raises DeviceUnavailable instead: the agent should close, wait, reopen.

The driver is safe to share between a reading thread and a thread issuing tare/zero:
each cycle and each command holds the port lock; readings that arrive while a command
waits for its reply are kept and returned by the next ``read()``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

import serial

from devices.errors import CommandRejected, DeviceUnavailable, ProtocolError
from devices.events import DeviceState, DeviceStatus, WeightEvent, utc_now
from devices.owned import OwnedDevice
from devices.scale.protocols import ProtocolSpec, ScaleParser, protocol_spec
from devices.scale.readings import Fault, Parsed, Reading, Reply
from devices.scale.settle import SettleConfig, SettleFilter

log = logging.getLogger(__name__)

ScaleOutput = WeightEvent | DeviceStatus


@dataclass(frozen=True, slots=True)
class ScaleConfig:
    """Plain settings for one scale; serial parameters default to the protocol's own."""

    port: str  # a path (/dev/serial/by-id/…) or a pyserial URL (socket://, rfc2217://)
    protocol: str = "continuous"  # "continuous" | "toledo8217" | "sics"
    device_id: str | None = None  # defaults to the last part of the port path
    model: str = ""
    unit: str = "kg"  # only for toledo8217, whose frames carry no unit
    baudrate: int | None = None
    bytesize: int | None = None
    parity: str | None = None
    stopbits: float | None = None
    reply_timeout: float = 0.5  # per read cycle
    command_timeout: float = 3.0  # SICS tare waits for the load to settle
    max_missed: int = 3
    settle: SettleConfig = field(default_factory=SettleConfig)


SerialOpener = Callable[[ScaleConfig, ProtocolSpec], serial.Serial]

# Reads return after at most this long, so a cycle can watch its own deadline. Set once
# at open: every change of a pyserial timeout is a tcsetattr() on the port.
READ_SLICE = 0.05


def open_serial(config: ScaleConfig, spec: ProtocolSpec) -> serial.Serial:
    ser = serial.serial_for_url(config.port, do_not_open=True)
    ser.baudrate = config.baudrate or spec.baudrate
    ser.bytesize = config.bytesize or spec.bytesize
    ser.parity = config.parity or spec.parity
    ser.stopbits = config.stopbits or spec.stopbits
    ser.timeout = READ_SLICE
    ser.write_timeout = 1.0
    ser.exclusive = True  # one owner per device: a second agent must not share the port
    ser.open()
    return ser


class ScaleDriver(OwnedDevice):
    def __init__(
        self,
        config: ScaleConfig,
        *,
        opener: SerialOpener = open_serial,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        self.spec = protocol_spec(config.protocol)  # ProtocolError for an unknown name
        self.parser: ScaleParser = self.spec.make_parser(config.unit)
        self.device_id = config.device_id or config.port.rstrip("/").rsplit("/", 1)[-1]
        self.settle = SettleFilter(config.settle)
        # Counters since construction, for metrics and for tests to wait on.
        self.readings = 0  # valid readings
        self.faults = 0  # well-framed messages reporting a problem (unit, error reply)
        self._opener = opener
        self._clock = clock
        self._lock = threading.RLock()
        self._ser: serial.Serial | None = None
        self._tare = 0
        self._missed = 0
        self._state: DeviceState = "offline"
        self._detail = "not opened"
        self._pending: list[ScaleOutput] = []

    # -- lifecycle ---------------------------------------------------------------------

    def open(self) -> DeviceStatus:
        """Open the port (DeviceUnavailable if it cannot be); return the online status."""
        with self._lock:
            self.close()
            try:
                ser = self._opener(self.config, self.spec)
                ser.reset_input_buffer()  # stale frames from before we opened are history
            except (serial.SerialException, OSError) as exc:
                raise DeviceUnavailable(f"cannot open scale {self.config.port}: {exc}") from exc
            self._ser = ser
            self.parser.reset()
            self.settle.reset()
            self._missed = 0
            self._pending.clear()
            self._set_state("online", "")
            return self.status()

    def close(self) -> None:
        with self._lock:
            ser, self._ser = self._ser, None
            if ser is not None:
                # Closing a vanished port is best effort.
                with contextlib.suppress(serial.SerialException, OSError):
                    ser.close()
                self._set_state("offline", "closed")

    @property
    def is_open(self) -> bool:
        return self._ser is not None

    def status(self) -> DeviceStatus:
        return DeviceStatus(
            device=self.device_id,
            state=self._state,
            model=self.config.model or f"{self.spec.name} scale",
            port=self.config.port,
            detail=self._detail,
            ts=self._clock(),
        )

    def supports(self, command: str) -> bool:
        return command in self.spec.commands

    # -- reading -----------------------------------------------------------------------

    def read(self) -> list[ScaleOutput]:
        """Run one read cycle; return weight events to publish and status changes."""
        with self._lock:
            out, self._pending = self._pending, []
            if self.spec.poll is not None:
                self._write(self.spec.poll)
            answer = self._pump(self._is_answer, self.config.reply_timeout, out)
            if answer is not None:
                self._missed = 0
            else:
                self._missed += 1
                if self._missed >= self.config.max_missed:
                    out.extend(self._set_state("offline", "no data from the scale"))
            return out

    def events(self) -> Iterator[ScaleOutput]:
        """Read forever; DeviceUnavailable propagates when the port goes away."""
        while True:
            yield from self.read()

    # -- commands ----------------------------------------------------------------------

    def tare(self) -> int | None:
        """Tare the scale; return the tare in grams when the protocol reports it."""
        reply = self._command("tare")
        return None if reply is None else reply.tare_grams

    def zero(self) -> None:
        """Zero the scale (it refuses when the load is outside its zero range)."""
        self._command("zero")

    def _command(self, name: str) -> Reply | None:
        data = self.spec.commands.get(name)
        if data is None:
            raise ProtocolError(
                f"{self.spec.name} scales take no {name} command; use the key on the scale"
            )
        with self._lock:
            self._write(data)
            if not self.spec.commands_reply:
                return None
            answer = self._pump(
                lambda item: self._answers(item, name), self.config.command_timeout, self._pending
            )
            if answer is None:
                raise DeviceUnavailable(f"scale {self.config.port} did not answer {name}")
            if isinstance(answer, Fault):
                raise ProtocolError(f"{name} failed: {answer.reason}")
            assert isinstance(answer, Reply)  # what _answers lets through besides Fault
            if not answer.accepted:
                raise CommandRejected(f"{name} refused: {answer.detail}")
            return answer

    @staticmethod
    def _is_answer(item: Parsed) -> bool:
        """A poll is answered by a reading or a fault (ES, wrong unit): the scale is alive."""
        return isinstance(item, Reading | Fault)

    @staticmethod
    def _answers(item: Parsed, name: str) -> bool:
        return isinstance(item, Fault) or (isinstance(item, Reply) and item.command == name)

    # -- internals ---------------------------------------------------------------------

    def _port(self) -> serial.Serial:
        if self._ser is None:
            raise DeviceUnavailable(f"scale {self.config.port} is not open")
        return self._ser

    def _fail(self, exc: Exception) -> DeviceUnavailable:
        self.close()
        self._detail = f"port failed: {exc}"
        return DeviceUnavailable(f"scale {self.config.port} failed: {exc}")

    def _write(self, data: bytes) -> None:
        ser = self._port()
        try:
            ser.write(data)
        except (serial.SerialException, OSError) as exc:
            raise self._fail(exc) from exc

    def _pump(
        self, done: Callable[[Parsed], bool], timeout: float, out: list[ScaleOutput]
    ) -> Parsed | None:
        """Read and handle items until one satisfies ``done`` (returned) or time runs out.

        Everything read is handled, including items after the one that satisfied ``done``
        in the same chunk, so nothing the scale said is lost.
        """
        ser = self._port()
        deadline = time.monotonic() + timeout
        while True:
            try:
                data = ser.read(max(1, ser.in_waiting))  # returns within READ_SLICE
                if data:
                    data += ser.read(ser.in_waiting)
            except (serial.SerialException, OSError) as exc:
                raise self._fail(exc) from exc
            items = self.parser.feed(data)
            for item in items:
                out.extend(self._handle(item))
            found = next((item for item in items if done(item)), None)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                return None

    def _handle(self, item: Parsed) -> list[ScaleOutput]:
        if isinstance(item, Fault):
            log.warning("scale %s: %s (%r)", self.device_id, item.reason, item.raw)
            self.faults += 1
            return self._set_state("error", item.reason)
        if isinstance(item, Reply):
            if item.command == "tare" and item.accepted and item.tare_grams is not None:
                self._tare = item.tare_grams
            return []
        self.readings += 1
        out = self._set_state("online", "")
        if item.kind == "tare":
            if item.grams is not None:
                self._tare = item.grams
            return out
        if item.kind == "gross" and item.grams is not None:
            self._tare = 0  # the scale says it shows gross: no tare is applied
        if self.settle.offer(item, self._tare):
            out.append(
                WeightEvent(
                    device=self.device_id,
                    grams=item.grams if item.grams is not None else 0,
                    stable=item.stable,
                    tare_grams=self._tare,
                    overload=item.overload,
                    underload=item.underload,
                    ts=self._clock(),
                )
            )
        return out

    def _set_state(self, state: DeviceState, detail: str) -> list[ScaleOutput]:
        if (state, detail) == (self._state, self._detail):
            return []
        self._state, self._detail = state, detail
        return [self.status()]
