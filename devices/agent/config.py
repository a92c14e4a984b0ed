"""The device agent's configuration: ``devices.toml``, and what may override it.

The file's tables are pydantic models below: ``[agent]`` `AgentTable`, ``[broker]``
`BrokerConfig`, and one ``[[device]]`` table per device, a union told apart by its
``kind`` (`ScannerConfig`, `ScaleDeviceConfig`, `PrinterConfig`). Every problem is found at
load time and reported as one `AgentConfigError` naming the file, the key path (e.g.
``device[2].baudrate``, with the device's id) and what is expected, in English and
Chinese, so a typo stops the agent with a clear message instead of a device that silently
never works. Unknown keys are errors for the same reason.

`AgentSettings` layers, highest first: the command-line flags (``--broker-host`` …, made
from `BrokerConfig`'s fields by ``devices.cli``), the environment
(``SHOPFLOOR_DEVICES_<TABLE>_<KEY>``, e.g. ``SHOPFLOOR_DEVICES_BROKER_PASSWORD``; the file
itself: ``SHOPFLOOR_DEVICES_CONFIG``), the file, the defaults. The format is documented in
``docs/devices.md`` and docs/configuration.md; ``deploy/devices.toml.example`` is a
commented example.

Relative paths (``spool_dir``, a replay ``recording``) are relative to the config file.
Imports nothing of ours outside ``devices`` (DESIGN §1), hence its own error wording
(``devices.agent.config_errors``).
"""

from __future__ import annotations

import os
import re
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from devices.agent.config_errors import (
    ENV_PREFIX,
    AgentConfigError,
    Where,
    config_error,
    refuse,
)
from devices.scanner.keymap import suffix_keys

DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_FILE = Path("devices.toml")

ScannerDriver = Literal["evdev", "serial", "replay"]
PrinterDriver = Literal["network", "serial", "usb"]
MqttProtocol = Literal["5", "3.1.1"]

#: Line terminators of a serial scanner by suffix name.
SERIAL_SUFFIXES: dict[str, bytes] = {"enter": b"\r\n", "cr": b"\r", "lf": b"\n", "tab": b"\t"}


def _device_id(value: str) -> str:
    if not DEVICE_ID.match(value):
        raise refuse(
            f"expected letters, digits, '-', '_' or '.' (it is an MQTT topic level), got {value!r}",
            f"只能包含字母、数字、“-”“_”“.”（它是 MQTT 主题的一级），实际为 {value!r}",
        )
    return value


def _usb_id(value: object) -> object:
    if isinstance(value, str):
        try:
            return int(value, 16)
        except ValueError:
            raise refuse(
                f'expected a USB id like "0x0416", got {value!r}',
                f'应为 USB 编号，例如 "0x0416"，实际为 {value!r}',
            ) from None
    return value


def _stop_bits(value: float) -> float:
    if value not in (1, 1.5, 2):
        raise refuse(f"expected 1, 1.5 or 2, got {value!r}", f"应为 1、1.5 或 2，实际为 {value!r}")
    return value


def _hostname() -> str:
    return socket.gethostname().split(".")[0] or "agent"


DeviceId = Annotated[str, AfterValidator(_device_id)]
UsbId = Annotated[int, BeforeValidator(_usb_id), Field(ge=0, le=0xFFFF)]
Seconds = Annotated[float, Field(gt=0)]
StopBits = Annotated[float, AfterValidator(_stop_bits)]


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- [agent] and [broker] -----------------------------------------------------------------


class AgentTable(_Table):
    id: DeviceId = Field(
        default_factory=_hostname,
        description="unique per broker: names the MQTT connections sf-dev-<id>-<device>",
    )
    spool_dir: Path = Field(
        default=Path("spool"), description="print queues (one SQLite file each)"
    )
    reopen_min_s: Seconds = Field(default=0.5, description="first retry after a device disappears")
    reopen_max_s: Seconds = Field(default=10.0, description="the retries double up to this")

    @model_validator(mode="after")
    def _backoff(self) -> Self:
        if self.reopen_max_s < self.reopen_min_s:
            raise refuse(
                "reopen_max_s must be at least reopen_min_s", "reopen_max_s 不能小于 reopen_min_s"
            )
        return self


class BrokerConfig(_Table):
    """The LOCAL device broker (Mosquitto on the node), not the uplink to the hub."""

    host: str = Field(default="127.0.0.1", description="the local device broker")
    port: int = Field(default=1883, ge=1, le=65535, description="its port")
    protocol: MqttProtocol = Field(default="5", description="MQTT protocol version")
    username: str | None = Field(default=None, description="the agent's account on the broker")
    # Not a flag: a password on the command line is readable by every user (ps).
    password: str | None = Field(
        default=None, description="its password", json_schema_extra={"flag": None}
    )
    keepalive_s: int = Field(default=10, gt=0, description="MQTT keepalive in seconds")


# --- [[device]] ---------------------------------------------------------------------------


class ScannerConfig(_Table):
    kind: Literal["scanner"] = "scanner"
    id: DeviceId
    driver: ScannerDriver = "evdev"
    # evdev: /dev/input/by-id/…; serial: /dev/ttyACM0 or a pyserial URL; replay: a name
    path: str = Field(default="", validate_default=True)
    model: str = ""
    suffix: str = Field(default="enter", validate_default=True)
    max_interkey_ms: Seconds = 50.0
    min_length: int = Field(default=3, ge=1)
    grab: bool = True
    baudrate: int = Field(default=9600, gt=0)
    # replay driver only: a recording (JSON lines, see devices.agent.replay) and/or codes
    recording: str | None = None
    scans: tuple[Annotated[str, Field(min_length=1)], ...] = ()
    interval_s: Seconds = 3.0
    speed: float = Field(default=1.0, ge=0)  # 0: as fast as possible
    loop: bool = False
    unplug_at_end: bool = False

    @field_validator("path")
    @classmethod
    def _path(cls, value: str, info: ValidationInfo) -> str:
        driver = info.data.get("driver")
        if driver == "replay":
            return value or f"replay:{info.data.get('id', 'scanner')}"
        if not value:
            raise refuse(
                f"is missing: the {driver} driver needs the scanner's device path",
                f"缺少此项：{driver} 驱动需要扫码枪的设备路径",
            )
        return value

    @field_validator("suffix")
    @classmethod
    def _suffix(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("driver") == "serial":
            if value not in SERIAL_SUFFIXES:
                names = ", ".join(SERIAL_SUFFIXES)
                raise refuse(
                    f"a serial scanner's suffix must be one of {names}, got {value!r}",
                    f"串口扫码枪的 suffix 应为 {names} 之一，实际为 {value!r}",
                )
            return value
        try:
            suffix_keys(value)
        except ValueError as exc:
            raise refuse(
                str(exc), f"未知的扫码枪后缀 {value!r}（可用 enter、tab 或 KEY_*）"
            ) from None
        return value

    @model_validator(mode="after")
    def _replay_source(self) -> Self:
        if self.driver == "replay" and self.recording is None and not self.scans:
            raise refuse(
                "a replay scanner needs recording or scans", "回放扫码枪需要 recording 或 scans"
            )
        return self


class ScaleDeviceConfig(_Table):
    kind: Literal["scale"] = "scale"
    id: DeviceId
    port: str = Field(validation_alias=AliasChoices("port", "path"))  # its serial device
    protocol: Literal["continuous", "toledo8217", "sics"] = "continuous"
    model: str = ""
    unit: Literal["kg", "g"] = "kg"
    # None: the protocol's defaults (8217: 9600 7E1)
    baudrate: int | None = Field(default=None, gt=0)
    bytesize: Literal[5, 6, 7, 8] | None = None
    parity: Literal["N", "E", "O"] | None = None
    stopbits: StopBits | None = None
    publish_unstable: bool = False
    delta_grams: int = Field(default=0, ge=0)


class PrinterConfig(_Table):
    kind: Literal["printer"] = "printer"
    id: DeviceId
    driver: PrinterDriver = "network"
    host: str = Field(default="", validate_default=True)  # network
    port: int = Field(default=9100, ge=1, le=65535)  # network
    path: str = Field(default="", validate_default=True)  # serial: device path or pyserial URL
    baudrate: int = Field(default=9600, gt=0)  # serial
    vendor_id: UsbId = Field(default=0, validate_default=True)  # usb
    product_id: UsbId = Field(default=0, validate_default=True)  # usb
    model: str = ""
    encoding: Literal["gb18030", "gbk", "utf-8"] = "gb18030"
    paper: Literal["58mm", "80mm"] = "80mm"
    language: Literal["escpos", "tspl"] = "escpos"
    buzzer: bool = False  # the printer beeps on ESC B (many Chinese kitchen printers do)
    check_paper: bool = True
    probe_interval_s: float = Field(default=15.0, ge=0)  # 0: never probe an idle printer
    retry_first_s: Seconds = 2.0
    retry_max_s: Seconds = 60.0

    @field_validator("host", "path", "vendor_id", "product_id")
    @classmethod
    def _needed_by_driver(cls, value: Any, info: ValidationInfo) -> Any:
        needs = {"network": ("host",), "serial": ("path",), "usb": ("vendor_id", "product_id")}
        driver = info.data.get("driver")
        if driver in needs and info.field_name in needs[driver] and not value:
            raise refuse(
                f"is missing: the {driver} driver needs it",
                f"缺少此项：{driver} 驱动的打印机必须设置",
            )
        return value

    @field_validator("paper", mode="before")
    @classmethod
    def _paper(cls, value: object) -> object:
        return {"58": "58mm", "80": "80mm"}.get(str(value), value)

    @model_validator(mode="after")
    def _backoff(self) -> Self:
        if self.retry_max_s < self.retry_first_s:
            raise refuse(
                "retry_max_s must be at least retry_first_s", "retry_max_s 不能小于 retry_first_s"
            )
        return self

    @property
    def address(self) -> str:
        if self.driver == "network":
            return f"tcp://{self.host}:{self.port}"
        if self.driver == "serial":
            return self.path
        return f"usb://{self.vendor_id:04x}:{self.product_id:04x}"


DeviceConfig = ScannerConfig | ScaleDeviceConfig | PrinterConfig
DeviceTable = Annotated[DeviceConfig, Field(discriminator="kind")]


class DevicesFile(_Table):
    """The whole of ``devices.toml``."""

    agent: AgentTable = Field(default_factory=AgentTable)
    broker: BrokerConfig = Field(default_factory=BrokerConfig)
    device: tuple[DeviceTable, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> Self:
        seen: dict[str, int] = {}
        for index, dev in enumerate(self.device):
            if dev.id in seen:
                raise refuse(
                    f"duplicate device id {dev.id!r} (device[{seen[dev.id]}] and device[{index}])",
                    f"设备编号 {dev.id} 重复（device[{seen[dev.id]}] 与 device[{index}]）",
                )
            seen[dev.id] = index
        return self


# --- the layers: flags > environment > file > defaults ------------------------------------


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise AgentConfigError(
            f"{path} not found; copy deploy/devices.toml.example and edit it",
            message_zh=f"找不到 {path}：请复制 deploy/devices.toml.example 并修改",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise AgentConfigError(
            f"{path} is not valid TOML: {exc}", message_zh=f"{path} 不是有效的 TOML：{exc}"
        ) from None


class _TomlFile(PydanticBaseSettingsSource):
    """The file named by ``config`` (a flag or SHOPFLOOR_DEVICES_CONFIG), else devices.toml
    if there is one."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole file

    def __call__(self) -> dict[str, Any]:
        named = self.current_state.get("config")
        path = Path(named) if named is not None else DEFAULT_FILE
        if named is None and not path.exists():
            return {}
        data = read_toml(path)
        if "config" in data:
            raise AgentConfigError(
                f"{path}: config is not a key of the file", message_zh=f"{path} 中不能设置 config"
            )
        return data


class AgentSettings(DevicesFile, BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="_", env_nested_max_split=1
    )

    config: Path | None = Field(
        default=None,
        description=f"the agent's configuration file (default: {DEFAULT_FILE} if present)",
    )

    if not TYPE_CHECKING:  # (hidden from mypy, which then checks keywords against the fields)

        def __init__(self, **values: Any) -> None:
            try:
                super().__init__(**values)
            except ValidationError as exc:
                raise config_error(exc, Where(values, _file_of(values))) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _TomlFile(settings_cls)


# --- the loaded configuration -------------------------------------------------------------


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


def _agent_config(tables: DevicesFile, base_dir: Path, source: Path | None) -> AgentConfig:
    devices: list[DeviceConfig] = []
    for dev in tables.device:
        if isinstance(dev, ScannerConfig) and dev.recording is not None:
            dev = dev.model_copy(update={"recording": str((base_dir / dev.recording).resolve())})
        devices.append(dev)
    return AgentConfig(
        agent_id=tables.agent.id,
        broker=tables.broker,
        devices=tuple(devices),
        spool_dir=(base_dir / tables.agent.spool_dir).resolve(),
        reopen_min_s=tables.agent.reopen_min_s,
        reopen_max_s=tables.agent.reopen_max_s,
        source=source,
    )


def parse_config(
    data: Mapping[str, Any], base_dir: Path, source: Path | None = None
) -> AgentConfig:
    """Build an AgentConfig from parsed TOML alone; ``base_dir`` anchors relative paths."""
    try:
        tables = DevicesFile.model_validate(data)
    except ValidationError as exc:
        raise config_error(
            exc, Where({}, (source or DEFAULT_FILE, data), environment=False)
        ) from None
    return _agent_config(tables, base_dir, source)


def load_config(path: str | Path | None = None, **overrides: Any) -> AgentConfig:
    """Read and validate a ``devices.toml`` (`path`, else $SHOPFLOOR_DEVICES_CONFIG, else
    ./devices.toml if there is one), under the environment and `overrides` (the flags, as
    tables: ``broker={"host": …}``)."""
    given = dict(overrides)
    if path is not None:
        given["config"] = Path(path)
    settings = AgentSettings(**given)
    file = settings.config or DEFAULT_FILE
    if not file.exists():
        return _agent_config(settings, Path.cwd(), None)
    return _agent_config(settings, file.resolve().parent, file.resolve())


def _file_of(values: Mapping[str, Any]) -> tuple[Path, Mapping[str, Any]] | None:
    """The file that was read and its tables, for naming a bad key (None: none was read)."""
    named = values.get("config") or os.environ.get(ENV_PREFIX + "CONFIG")
    path = Path(named) if named else DEFAULT_FILE
    try:
        return path, read_toml(path)
    except AgentConfigError:
        return None
