"""One adapter per device kind: the same small interface over each driver.

The runner (``devices.agent.runner``) owns an adapter and calls it from one thread only:
``open`` (DeviceUnavailable when the device is not there), ``poll`` (wait up to
``timeout`` for events; DeviceUnavailable when the device disappears), ``handle`` (a
command), ``close``. Adapters keep no MQTT knowledge; they return frozen events.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from devices.agent.commands import Command, InvalidCommand
from devices.agent.config import (
    SERIAL_SUFFIXES,
    AgentConfig,
    DeviceConfig,
    PrinterConfig,
    ScaleDeviceConfig,
    ScannerConfig,
)
from devices.agent.replay import ReplayInputDevice, load_recording, scripted_scans
from devices.errors import DeviceUnavailable
from devices.events import (
    CommandResult,
    DeviceStatus,
    PrintJobStatus,
    ScanEvent,
    WeightEvent,
    utc_now,
)
from devices.scale.driver import ScaleConfig, ScaleDriver
from devices.scale.settle import SettleConfig
from devices.scanner.evdev_scanner import EvdevScanner, InputDeviceLike, decoder_config
from devices.scanner.serial_scanner import SerialScanner

Output = ScanEvent | WeightEvent | DeviceStatus | PrintJobStatus | CommandResult
Clock = Callable[[], datetime]


class DeviceAdapter(Protocol):
    device_id: str
    kind: str
    #: Commands this device takes besides "status" (which every device answers).
    commands: tuple[str, ...]

    def open(self) -> DeviceStatus: ...
    def close(self) -> None: ...
    def poll(self, timeout: float) -> list[Output]: ...
    def handle(self, command: Command) -> CommandResult: ...
    def describe(self) -> tuple[str, str]:
        """(model, port) for statuses published while the device is not open."""
        ...

    def status_extra(self) -> dict[str, Any]:
        """Fields added to the published status (a printer's waiting jobs)."""
        ...

    def resync(self) -> None:
        """The bus connection was (re)made: publish current state again where it matters."""
        ...


def unsupported(device_id: str, command: Command, what: str) -> InvalidCommand:
    return InvalidCommand(f"{device_id} ({what}) has no {command.name!r} command")


class ScannerAdapter:
    kind = "scanner"
    commands: tuple[str, ...] = ()  # a wedge scanner takes no commands over evdev

    def __init__(self, config: ScannerConfig, clock: Clock = utc_now) -> None:
        self.config = config
        self.device_id = config.id
        self._clock = clock
        self.scanner: EvdevScanner | SerialScanner | None = None
        self._model = config.model  # what the device called itself when last opened

    def describe(self) -> tuple[str, str]:
        default = "serial scanner" if self.config.driver == "serial" else "barcode scanner"
        return self._model or default, self.config.path

    def _replay_opener(self) -> Callable[[str], InputDeviceLike]:
        cfg = self.config
        events = load_recording(cfg.recording) if cfg.recording else []
        if cfg.scans:
            start = events[-1].timestamp() if events else 0.0
            events += scripted_scans(cfg.scans, cfg.interval_s, start)

        def opener(_path: str) -> InputDeviceLike:
            return ReplayInputDevice(
                events,
                name=cfg.model or "Shopfloor replay scanner",
                speed=cfg.speed,
                loop=cfg.loop,
                unplug_at_end=cfg.unplug_at_end,
            )

        return opener

    def _build(self) -> EvdevScanner | SerialScanner:
        cfg = self.config
        if cfg.driver == "serial":
            return SerialScanner(
                cfg.path,
                device_id=cfg.id,
                baudrate=cfg.baudrate,
                terminators=SERIAL_SUFFIXES[cfg.suffix],
                clock=self._clock,
            )
        decoder = decoder_config(
            suffix=cfg.suffix, max_interkey_ms=cfg.max_interkey_ms, min_length=cfg.min_length
        )
        if cfg.driver == "replay":
            return EvdevScanner(
                cfg.path,
                device_id=cfg.id,
                config=decoder,
                opener=self._replay_opener(),
                clock=self._clock,
            )
        return EvdevScanner(
            cfg.path, device_id=cfg.id, config=decoder, grab=cfg.grab, clock=self._clock
        )

    def open(self) -> DeviceStatus:
        self.close()
        self.scanner = self._build()
        status = self.scanner.open()
        if self.config.model and status.model != self.config.model:
            status = DeviceStatus(
                status.device,
                status.state,
                self.config.model,
                status.port,
                status.detail,
                status.ts,
            )
        self._model = status.model
        return status

    def close(self) -> None:
        if self.scanner is not None:
            self.scanner.close()
            self.scanner = None

    def poll(self, timeout: float) -> list[Output]:
        if self.scanner is None:
            raise DeviceUnavailable(f"scanner {self.config.path} is not open")
        return list(self.scanner.read(timeout))

    def handle(self, command: Command) -> CommandResult:
        raise unsupported(self.device_id, command, "barcode scanner")

    def status_extra(self) -> dict[str, Any]:
        return {}

    def resync(self) -> None:
        pass  # a scan is an event, not a state: nothing to repeat


class ScaleAdapter:
    kind = "scale"
    commands: tuple[str, ...] = ("tare", "zero")

    def __init__(self, config: ScaleDeviceConfig, clock: Clock = utc_now) -> None:
        self.config = config
        self.device_id = config.id
        self._clock = clock
        self.driver = ScaleDriver(
            ScaleConfig(
                port=config.port,
                protocol=config.protocol,
                device_id=config.id,
                model=config.model,
                unit=config.unit,
                baudrate=config.baudrate,
                bytesize=config.bytesize,
                parity=config.parity,
                stopbits=config.stopbits,
                settle=SettleConfig(
                    delta_grams=config.delta_grams, publish_unstable=config.publish_unstable
                ),
            ),
            clock=clock,
        )

    def describe(self) -> tuple[str, str]:
        status = self.driver.status()
        return status.model, status.port

    def open(self) -> DeviceStatus:
        return self.driver.open()

    def close(self) -> None:
        self.driver.close()

    def poll(self, timeout: float) -> list[Output]:
        # One read cycle; its length is the scale's reply timeout, not ``timeout``.
        return list(self.driver.read())

    def handle(self, command: Command) -> CommandResult:
        if command.name == "tare":
            if not self.driver.supports("tare"):
                raise unsupported(self.device_id, command, f"{self.config.protocol} scale")
            grams = self.driver.tare()
            detail = "tared" if grams is None else f"tare {grams} g"
        elif command.name == "zero":
            if not self.driver.supports("zero"):
                raise unsupported(self.device_id, command, f"{self.config.protocol} scale")
            self.driver.zero()
            detail = "zeroed"
        else:
            raise unsupported(self.device_id, command, "scale")
        return CommandResult(
            self.device_id, command.name, command.request_id, True, detail, ts=self._clock()
        )

    def status_extra(self) -> dict[str, Any]:
        return {}

    def resync(self) -> None:
        # Weights published while the broker was away were dropped; the settle filter
        # would not repeat the weight on the platter, so let it publish it once more.
        self.driver.settle.reset()


def make_adapter(device: DeviceConfig, agent: AgentConfig, clock: Clock = utc_now) -> DeviceAdapter:
    if isinstance(device, ScannerConfig):
        return ScannerAdapter(device, clock)
    if isinstance(device, ScaleDeviceConfig):
        return ScaleAdapter(device, clock)
    if isinstance(device, PrinterConfig):
        from devices.agent.printer import PrinterAdapter

        return PrinterAdapter(device, agent.spool_dir, clock)
    raise TypeError(f"no adapter for {device!r}")
