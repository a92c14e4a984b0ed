"""What ``shopfloor devices list`` shows: the devices this machine has, for writing the config."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

from serial.tools import list_ports

from devices.agent.config import AgentConfig, PrinterConfig
from devices.scanner.evdev_scanner import list_scanner_candidates

SERIAL_BY_ID = "/dev/serial/by-id"


@dataclass(frozen=True)
class SerialPortInfo:
    path: str  # the /dev/serial/by-id path when there is one (stable across replugs)
    device: str
    description: str
    hwid: str


def _serial_by_id(by_id_dir: str = SERIAL_BY_ID) -> dict[str, str]:
    try:
        names = sorted(os.listdir(by_id_dir))
    except OSError:
        return {}
    return {os.path.realpath(os.path.join(by_id_dir, n)): os.path.join(by_id_dir, n) for n in names}


def serial_ports() -> list[SerialPortInfo]:
    by_id = _serial_by_id()
    out = []
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        real = os.path.realpath(port.device)
        out.append(
            SerialPortInfo(by_id.get(real, port.device), port.device, port.description, port.hwid)
        )
    return out


def inventory(config: AgentConfig | None) -> dict[str, Any]:
    """Scanner candidates, serial ports and configured printers, as plain data."""
    printers: list[PrinterConfig] = (
        [d for d in config.devices if isinstance(d, PrinterConfig)] if config else []
    )
    return {
        "scanners": [asdict(c) for c in list_scanner_candidates()],
        "serial_ports": [asdict(p) for p in serial_ports()],
        "printers": [
            {
                "id": p.id,
                "driver": p.driver,
                "address": p.address,
                "language": p.language,
                "encoding": p.encoding,
                "paper": p.paper,
            }
            for p in printers
        ],
    }


def format_inventory(inv: dict[str, Any], config_note: str) -> str:
    lines = ["Scanners (keyboard-like input devices; use the path as scanner path):"]
    lines += [f"  {s['path']}  {s['name']!r}  ({s['event_path']})" for s in inv["scanners"]]
    if not inv["scanners"]:
        lines.append("  none found (no readable /dev/input/event*; is the user in group input?)")
    lines.append("Serial ports (scales, serial scanners, serial printers):")
    lines += [f"  {p['path']}  {p['description']}  [{p['hwid']}]" for p in inv["serial_ports"]]
    if not inv["serial_ports"]:
        lines.append("  none found")
    lines.append(f"Printers configured in {config_note}:")
    lines += [
        f"  {p['id']}  {p['address']}  {p['language']} {p['encoding']} {p['paper']}"
        for p in inv["printers"]
    ]
    if not inv["printers"]:
        lines.append("  none")
    return "\n".join(lines)
