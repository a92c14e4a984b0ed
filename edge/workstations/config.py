"""Which devices belong to which workstation, and where the device bus is.

From the node's settings (``EdgeSettings.extra``, i.e. ``node.json``)::

    "device_broker": {"host": "127.0.0.1", "port": 1883, "protocol": "5"},
    "workstations": {
        "lane-1":  {"kind": "pos", "label": "1号收银台",
                    "devices": ["lane1-scanner", "lane1-scale", "lane1-printer"]},
        "recv-1":  {"kind": "receiving", "label": "收货台", "devices": ["desk-scanner"],
                    "auto_receive": false},
        "pack-1":  {"kind": "packing", "label": "打包台", "devices": ["pack-scanner"]}
    }

``device_broker`` defaults to the node's own broker settings (the local Mosquitto). A
device may belong to one workstation only; a configuration error stops the node at
start with a message naming the workstation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from edge.settings import EdgeSettings
from sync_protocol.errors import ConfigurationError

WorkstationKind = Literal["pos", "receiving", "packing"]
KINDS: tuple[WorkstationKind, ...] = ("pos", "receiving", "packing")
WS_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")


@dataclass(frozen=True)
class DeviceBrokerAddress:
    host: str = "127.0.0.1"
    port: int = 1883
    protocol: Literal["5", "3.1.1"] = "5"


@dataclass(frozen=True)
class WorkstationConfig:
    id: str
    kind: WorkstationKind
    label: str
    devices: tuple[str, ...]
    auto_receive: bool = False  # receiving desk: each scan receives one unit at once


@dataclass(frozen=True)
class RoutingConfig:
    broker: DeviceBrokerAddress
    workstations: tuple[WorkstationConfig, ...]

    def __post_init__(self) -> None:
        owner: dict[str, str] = {}
        for ws in self.workstations:
            for device in ws.devices:
                if device in owner:
                    raise _error(
                        f"device {device!r} is in workstations {owner[device]!r} and {ws.id!r}",
                        f"设备 {device} 同时属于工位 {owner[device]} 和 {ws.id}",
                    )
                owner[device] = ws.id

    def workstation(self, ws_id: str) -> WorkstationConfig | None:
        return next((ws for ws in self.workstations if ws.id == ws_id), None)

    def workstation_of(self, device: str) -> WorkstationConfig | None:
        return next((ws for ws in self.workstations if device in ws.devices), None)


def _error(message: str, message_zh: str) -> ConfigurationError:
    return ConfigurationError(f"workstations: {message}", message_zh=f"工位配置：{message_zh}")


def _workstation(ws_id: Any, raw: Any) -> WorkstationConfig:
    if not isinstance(ws_id, str) or not WS_ID.match(ws_id):
        raise _error(
            f"id {ws_id!r} must be lowercase letters, digits, '-' or '_'",
            f"工位编号 {ws_id!r} 只能包含小写字母、数字、“-”和“_”",
        )
    if not isinstance(raw, Mapping):
        raise _error(f"{ws_id}: must be an object", f"{ws_id} 的配置必须是对象")
    unknown = set(raw) - {"kind", "label", "devices", "auto_receive"}
    if unknown:
        raise _error(f"{ws_id}: unknown key(s) {sorted(unknown)}", f"{ws_id} 有未知配置项")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise _error(f"{ws_id}: kind must be one of {KINDS}", f"{ws_id} 的类型无效：{kind}")
    devices = raw.get("devices", [])
    if not isinstance(devices, list) or not all(isinstance(d, str) and d for d in devices):
        raise _error(f"{ws_id}: devices must be a list of device ids", f"{ws_id} 的设备列表无效")
    label = raw.get("label", ws_id)
    auto = raw.get("auto_receive", False)
    if not isinstance(label, str) or not isinstance(auto, bool):
        raise _error(f"{ws_id}: label must be text, auto_receive true/false", f"{ws_id} 配置无效")
    return WorkstationConfig(ws_id, kind, label, tuple(devices), auto)


def routing_from_settings(settings: EdgeSettings) -> RoutingConfig:
    extra = settings.extra or {}
    raw_broker = extra.get("device_broker") or {}
    if not isinstance(raw_broker, Mapping):
        raise _error("device_broker must be an object", "device_broker 必须是对象")
    host = raw_broker.get("host", settings.broker_host)
    port = raw_broker.get("port", settings.broker_port)
    protocol = raw_broker.get("protocol", settings.broker_protocol)
    if not isinstance(host, str) or not isinstance(port, int) or protocol not in ("5", "3.1.1"):
        raise _error(
            "device_broker needs host (text), port (number), protocol '5' or '3.1.1'",
            "device_broker 配置无效",
        )
    raw_ws = extra.get("workstations") or {}
    if not isinstance(raw_ws, Mapping):
        raise _error("workstations must be an object of id → workstation", "工位配置必须是对象")
    return RoutingConfig(
        DeviceBrokerAddress(host, port, protocol),
        tuple(_workstation(ws_id, raw) for ws_id, raw in raw_ws.items()),
    )
