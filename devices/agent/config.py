"""The device agent's configuration: a TOML file listing the machine's devices.

Parsed with ``tomllib`` into frozen dataclasses; every problem is reported at load time
as ``AgentConfigError`` naming the device and the key, so a typo in ``devices.toml``
stops the agent with a clear message instead of a device that silently never works.
Unknown keys are errors for the same reason. The format is documented in
``docs/devices.md``; ``deploy/devices.toml.example`` is a commented example.

Relative paths (``spool_dir``, a replay ``recording``) are relative to the config file.
"""

from __future__ import annotations

import re
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from devices.errors import DeviceError
from devices.scanner.keymap import suffix_keys

DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

ScannerDriver = Literal["evdev", "serial", "replay"]
PrinterDriver = Literal["network", "serial", "usb"]
MqttProtocol = Literal["5", "3.1.1"]


class AgentConfigError(DeviceError):
    """``devices.toml`` is invalid. What to do: fix the key named in the message, restart."""


@dataclass(frozen=True)
class BrokerConfig:
    """The LOCAL device broker (Mosquitto on the node), not the uplink to the hub."""

    host: str = "127.0.0.1"
    port: int = 1883
    protocol: MqttProtocol = "5"
    username: str | None = None
    password: str | None = None
    keepalive_s: int = 10


@dataclass(frozen=True)
class ScannerConfig:
    id: str
    driver: ScannerDriver
    path: str  # evdev: /dev/input/by-id/…; serial: /dev/ttyACM0 or a pyserial URL
    model: str = ""
    suffix: str = "enter"
    max_interkey_ms: float = 50.0
    min_length: int = 3
    grab: bool = True
    baudrate: int = 9600
    # replay driver only: a recording (JSON lines, see devices.agent.replay) and/or codes
    recording: str | None = None
    scans: tuple[str, ...] = ()
    interval_s: float = 3.0
    speed: float = 1.0  # 0: as fast as possible
    loop: bool = False
    unplug_at_end: bool = False
    kind: Literal["scanner"] = "scanner"


@dataclass(frozen=True)
class ScaleDeviceConfig:
    id: str
    port: str
    protocol: str = "continuous"  # continuous | toledo8217 | sics
    model: str = ""
    unit: str = "kg"
    baudrate: int | None = None
    bytesize: int | None = None
    parity: str | None = None
    stopbits: float | None = None
    publish_unstable: bool = False
    delta_grams: int = 0
    kind: Literal["scale"] = "scale"


@dataclass(frozen=True)
class PrinterConfig:
    id: str
    driver: PrinterDriver
    host: str = ""  # network
    port: int = 9100  # network
    path: str = ""  # serial: device path or pyserial URL
    baudrate: int = 9600  # serial
    vendor_id: int = 0  # usb
    product_id: int = 0  # usb
    model: str = ""
    encoding: Literal["gb18030", "gbk", "utf-8"] = "gb18030"
    paper: Literal["58mm", "80mm"] = "80mm"
    language: Literal["escpos", "tspl"] = "escpos"
    buzzer: bool = False  # the printer beeps on ESC B (many Chinese kitchen printers do)
    check_paper: bool = True
    probe_interval_s: float = 15.0  # 0: never probe an idle printer
    retry_first_s: float = 2.0
    retry_max_s: float = 60.0
    kind: Literal["printer"] = "printer"

    @property
    def address(self) -> str:
        if self.driver == "network":
            return f"tcp://{self.host}:{self.port}"
        if self.driver == "serial":
            return self.path
        return f"usb://{self.vendor_id:04x}:{self.product_id:04x}"


DeviceConfig = ScannerConfig | ScaleDeviceConfig | PrinterConfig


@dataclass(frozen=True)
class AgentConfig:
    agent_id: str
    broker: BrokerConfig
    devices: tuple[DeviceConfig, ...]
    spool_dir: Path
    reopen_min_s: float = 0.5
    reopen_max_s: float = 10.0
    source: Path | None = None  # the file it was read from
    extra: Mapping[str, Any] = field(default_factory=dict)

    def device(self, device_id: str) -> DeviceConfig:
        for dev in self.devices:
            if dev.id == device_id:
                return dev
        raise KeyError(device_id)


# --- parsing ------------------------------------------------------------------------------


class _Table:
    """Typed access to one TOML table that remembers which keys were used."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        if not isinstance(data, Mapping):
            raise AgentConfigError(f"{where} must be a table")
        self.data = data
        self.where = where
        self.used: set[str] = set()

    def _get(self, key: str, kinds: tuple[type, ...], default: Any, required: bool) -> Any:
        self.used.add(key)
        if key not in self.data:
            if required:
                raise AgentConfigError(f"{self.where}: missing required key {key!r}")
            return default
        value = self.data[key]
        if isinstance(value, bool) and bool not in kinds:
            raise AgentConfigError(f"{self.where}: {key} must not be true/false")
        if not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise AgentConfigError(f"{self.where}: {key} must be {names}, got {value!r}")
        return value

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> Any:
        return self._get(key, (str,), default, required)

    def integer(self, key: str, default: int | None = None, *, required: bool = False) -> Any:
        return self._get(key, (int,), default, required)

    def number(self, key: str, default: float | None = None) -> Any:
        value = self._get(key, (int, float), default, False)
        return None if value is None else float(value)

    def flag(self, key: str, default: bool) -> bool:
        return bool(self._get(key, (bool,), default, False))

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> Any:
        value = self._get(key, (str,), default, default is None)
        if value not in choices:
            raise AgentConfigError(f"{self.where}: {key} must be one of {choices}, got {value!r}")
        return value

    def positive(self, key: str, default: float, *, allow_zero: bool = False) -> float:
        value: float = self.number(key, default)
        if value < 0 or (value == 0 and not allow_zero):
            raise AgentConfigError(f"{self.where}: {key} must be > 0, got {value}")
        return value

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise AgentConfigError(f"{self.where}: unknown key(s) {', '.join(unknown)}")


def _usb_id(table: _Table, key: str) -> int:
    table.used.add(key)
    raw = table.data.get(key)
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        try:
            return int(raw, 16)
        except ValueError:
            pass
    raise AgentConfigError(f'{table.where}: {key} must be a USB id like "0x0416", got {raw!r}')


#: Line terminators of a serial scanner by suffix name.
SERIAL_SUFFIXES: dict[str, bytes] = {"enter": b"\r\n", "cr": b"\r", "lf": b"\n", "tab": b"\t"}


def _suffix(t: _Table, driver: str) -> str:
    suffix: str = t.text("suffix", "enter")
    if driver == "serial":
        if suffix not in SERIAL_SUFFIXES:
            raise AgentConfigError(
                f"{t.where}: suffix of a serial scanner must be one of {tuple(SERIAL_SUFFIXES)}"
            )
        return suffix
    try:
        suffix_keys(suffix)
    except ValueError as exc:
        raise AgentConfigError(f"{t.where}: {exc}") from exc
    return suffix


def _scanner(t: _Table, device_id: str, base: Path) -> ScannerConfig:
    driver = t.choice("driver", ("evdev", "serial", "replay"), "evdev")
    recording = t.text("recording")
    scans = t._get("scans", (list,), [], False)
    if not all(isinstance(s, str) and s for s in scans):
        raise AgentConfigError(f"{t.where}: scans must be a list of non-empty strings")
    if driver == "replay":
        if recording is None and not scans:
            raise AgentConfigError(f"{t.where}: a replay scanner needs recording or scans")
        path = t.text("path", f"replay:{device_id}")
    else:
        path = t.text("path", required=True)
    if recording is not None:
        recording = str((base / recording).resolve())
    return ScannerConfig(
        id=device_id,
        driver=driver,
        path=path,
        model=t.text("model", ""),
        suffix=_suffix(t, driver),
        max_interkey_ms=t.positive("max_interkey_ms", 50.0),
        min_length=t.integer("min_length", 3),
        grab=t.flag("grab", True),
        baudrate=t.integer("baudrate", 9600),
        recording=recording,
        scans=tuple(scans),
        interval_s=t.positive("interval_s", 3.0),
        speed=t.positive("speed", 1.0, allow_zero=True),
        loop=t.flag("loop", False),
        unplug_at_end=t.flag("unplug_at_end", False),
    )


def _scale(t: _Table, device_id: str) -> ScaleDeviceConfig:
    port = t.text("port") or t.text("path")
    if port is None:
        raise AgentConfigError(f"{t.where}: a scale needs port (its serial device path)")
    parity = t.choice("parity", ("N", "E", "O"), "N") if "parity" in t.data else None
    return ScaleDeviceConfig(
        id=device_id,
        port=port,
        protocol=t.choice("protocol", ("continuous", "toledo8217", "sics"), "continuous"),
        model=t.text("model", ""),
        unit=t.choice("unit", ("kg", "g"), "kg"),
        baudrate=t.integer("baudrate"),
        bytesize=t.integer("bytesize"),
        parity=parity,
        stopbits=t.number("stopbits"),
        publish_unstable=t.flag("publish_unstable", False),
        delta_grams=t.integer("delta_grams", 0),
    )


def _printer(t: _Table, device_id: str) -> PrinterConfig:
    driver = t.choice("driver", ("network", "serial", "usb"), "network")
    host = t.text("host", "")
    path = t.text("path", "")
    vendor = product = 0
    if driver == "network" and not host:
        raise AgentConfigError(f"{t.where}: a network printer needs host")
    if driver == "serial" and not path:
        raise AgentConfigError(f"{t.where}: a serial printer needs path")
    if driver == "usb":
        vendor, product = _usb_id(t, "vendor_id"), _usb_id(t, "product_id")
    paper_raw = t._get("paper", (str, int), "80mm", False)
    paper = {"58": "58mm", "58mm": "58mm", "80": "80mm", "80mm": "80mm"}.get(str(paper_raw))
    if paper is None:
        raise AgentConfigError(f'{t.where}: paper must be "58mm" or "80mm", got {paper_raw!r}')
    retry_first = t.positive("retry_first_s", 2.0)
    retry_max = t.positive("retry_max_s", 60.0)
    if retry_max < retry_first:
        raise AgentConfigError(f"{t.where}: retry_max_s must be >= retry_first_s")
    return PrinterConfig(
        id=device_id,
        driver=driver,
        host=host,
        port=t.integer("port", 9100),
        path=path,
        baudrate=t.integer("baudrate", 9600),
        vendor_id=vendor,
        product_id=product,
        model=t.text("model", ""),
        encoding=t.choice("encoding", ("gb18030", "gbk", "utf-8"), "gb18030"),
        paper=paper,  # type: ignore[arg-type]
        language=t.choice("language", ("escpos", "tspl"), "escpos"),
        buzzer=t.flag("buzzer", False),
        check_paper=t.flag("check_paper", True),
        probe_interval_s=t.positive("probe_interval_s", 15.0, allow_zero=True),
        retry_first_s=retry_first,
        retry_max_s=retry_max,
    )


def parse_config(
    data: Mapping[str, Any], base_dir: Path, source: Path | None = None
) -> AgentConfig:
    """Build an AgentConfig from parsed TOML; ``base_dir`` anchors relative paths."""
    top = _Table(data, "devices.toml")
    agent = _Table(top._get("agent", (dict,), {}, False), "[agent]")
    broker_t = _Table(top._get("broker", (dict,), {}, False), "[broker]")
    raw_devices = top._get("device", (list,), [], False)
    top.finish()

    agent_id = agent.text("id", socket.gethostname().split(".")[0] or "agent")
    if not DEVICE_ID.match(agent_id):
        raise AgentConfigError(f"[agent]: id {agent_id!r} must be letters, digits, '-', '_', '.'")
    spool = Path(agent.text("spool_dir", "spool"))
    reopen_min = agent.positive("reopen_min_s", 0.5)
    reopen_max = agent.positive("reopen_max_s", 10.0)
    agent.finish()
    if reopen_max < reopen_min:
        raise AgentConfigError("[agent]: reopen_max_s must be >= reopen_min_s")

    broker = BrokerConfig(
        host=broker_t.text("host", "127.0.0.1"),
        port=broker_t.integer("port", 1883),
        protocol=broker_t.choice("protocol", ("5", "3.1.1"), "5"),
        username=broker_t.text("username"),
        password=broker_t.text("password"),
        keepalive_s=broker_t.integer("keepalive_s", 10),
    )
    broker_t.finish()

    devices: list[DeviceConfig] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_devices):
        t = _Table(raw, f"[[device]] #{index + 1}")
        device_id = t.text("id", required=True)
        t.where = f"[[device]] {device_id!r}"
        if not DEVICE_ID.match(device_id):
            raise AgentConfigError(
                f"{t.where}: id must be letters, digits, '-', '_', '.' (it is an MQTT topic level)"
            )
        if device_id in seen:
            raise AgentConfigError(f"{t.where}: duplicate device id")
        seen.add(device_id)
        kind = t.choice("kind", ("scanner", "scale", "printer"))
        dev: DeviceConfig
        if kind == "scanner":
            dev = _scanner(t, device_id, base_dir)
        elif kind == "scale":
            dev = _scale(t, device_id)
        else:
            dev = _printer(t, device_id)
        t.finish()
        devices.append(dev)

    return AgentConfig(
        agent_id=agent_id,
        broker=broker,
        devices=tuple(devices),
        spool_dir=(base_dir / spool).resolve(),
        reopen_min_s=reopen_min,
        reopen_max_s=reopen_max,
        source=source,
    )


def load_config(path: str | Path) -> AgentConfig:
    """Read and validate a ``devices.toml``."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError as exc:
        raise AgentConfigError(
            f"{path} not found; copy deploy/devices.toml.example and edit it"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise AgentConfigError(f"{path} is not valid TOML: {exc}") from exc
    return parse_config(data, path.parent.resolve(), source=path.resolve())
