"""Topics of the local device bus (DESIGN §4): one subtree per device.

sf/dev/{device}/event    QoS 1, not retained: ScanEvent, WeightEvent, PrintJobStatus,
                         CommandResult (JSON from devices.events)
sf/dev/{device}/status   QoS 1, RETAINED: the device's DeviceStatus JSON plus "kind",
                         "agent" and, for printers, "jobs"; also each device's Last Will
sf/dev/{device}/cmd      QoS 1: commands to the device (print, cancel, tare, zero,
                         beep, status)
"""

from __future__ import annotations

from typing import Literal

PREFIX = "sf/dev"
Channel = Literal["event", "status", "cmd"]
CHANNELS: tuple[Channel, ...] = ("event", "status", "cmd")


def topic(device: str, channel: Channel) -> str:
    return f"{PREFIX}/{device}/{channel}"


def event_topic(device: str) -> str:
    return topic(device, "event")


def status_topic(device: str) -> str:
    return topic(device, "status")


def cmd_topic(device: str) -> str:
    return topic(device, "cmd")


def parse_topic(name: str) -> tuple[str, Channel] | None:
    """``("scanner-1", "event")`` for ``sf/dev/scanner-1/event``; None for anything else."""
    parts = name.split("/")
    if len(parts) != 4 or f"{parts[0]}/{parts[1]}" != PREFIX or not parts[2]:
        return None
    channel = parts[3]
    if channel == "event":
        return parts[2], "event"
    if channel == "status":
        return parts[2], "status"
    if channel == "cmd":
        return parts[2], "cmd"
    return None
