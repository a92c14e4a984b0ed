"""EvdevScanner: recorded events replayed through the driver's own open/grab/read path."""

from __future__ import annotations

import errno
from datetime import UTC, datetime
from pathlib import Path

import pytest
from evdev import ecodes as e

from devices.errors import DeviceUnavailable
from devices.events import ScanEvent
from devices.scanner.decoder import DecoderConfig
from devices.scanner.evdev_scanner import (
    EvdevScanner,
    decoder_config,
    is_keyboard_like,
    list_scanner_candidates,
)
from devices.simulators.scanner_recordings import (
    RecordedInputDevice,
    record_scan,
    record_typing,
)

T0 = 1_700_000_000.0
BY_ID = "/dev/input/by-id/usb-Honeywell_Imaging_1900-event-kbd"
NOW = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)


def scanner_for(device: RecordedInputDevice, config: DecoderConfig | None = None) -> EvdevScanner:
    return EvdevScanner(BY_ID, opener=lambda path: device, clock=lambda: NOW, config=config)


def read_all(scanner: EvdevScanner) -> list[ScanEvent]:
    """Read until the replay device reports itself unplugged."""
    out: list[ScanEvent] = []
    with pytest.raises(DeviceUnavailable, match="unplugged"):
        while True:
            out += scanner.read(timeout=1)
    return out


def test_a_replayed_scan_becomes_one_scan_event() -> None:
    scanner = scanner_for(RecordedInputDevice(record_scan("6901234567892", T0)))
    scanner.open()
    events = read_all(scanner)
    assert [(ev.device, ev.code, ev.symbology_hint, ev.ts) for ev in events] == [
        ("usb-Honeywell_Imaging_1900-event-kbd", "6901234567892", "EAN-13", NOW)
    ]


def test_the_device_is_grabbed_while_open_and_released_on_close() -> None:
    device = RecordedInputDevice([], unplug_at_end=False)
    scanner = scanner_for(device)
    scanner.open()
    assert device.grabbed
    scanner.close()
    assert not device.grabbed and device.closed


def test_typing_on_the_device_produces_no_scan_events() -> None:
    events = record_typing("12345678", T0) + record_scan("ABC-1", T0 + 3)
    scanner = scanner_for(RecordedInputDevice(events, batch=7))  # odd batches split keys
    scanner.open()
    assert [ev.code for ev in read_all(scanner)] == ["ABC-1"]


def test_custom_tab_suffix_through_the_driver() -> None:
    device = RecordedInputDevice(record_scan("LOC-A1-03", T0, suffix="tab"))
    scanner = scanner_for(device, config=decoder_config(suffix="tab"))
    scanner.open()
    assert [ev.code for ev in read_all(scanner)] == ["LOC-A1-03"]


def test_unplugged_device_raises_device_unavailable_and_closes() -> None:
    device = RecordedInputDevice([])
    scanner = scanner_for(device)
    scanner.open()
    with pytest.raises(DeviceUnavailable):
        scanner.read(timeout=1)
    assert not scanner.is_open and device.closed
    assert scanner.status().state == "offline"


def test_a_scanner_can_be_reopened_after_it_disappeared() -> None:
    devices = iter([RecordedInputDevice([]), RecordedInputDevice(record_scan("AGAIN1", T0))])
    scanner = EvdevScanner(BY_ID, opener=lambda path: next(devices))
    scanner.open()
    with pytest.raises(DeviceUnavailable):
        scanner.read(timeout=1)
    assert scanner.open().state == "online"
    assert [ev.code for ev in read_all(scanner)] == ["AGAIN1"]


def test_a_missing_device_path_raises_device_unavailable() -> None:
    with pytest.raises(DeviceUnavailable, match="cannot open"):
        EvdevScanner("/nonexistent/input/by-id/usb-none-event-kbd").open()


def test_a_device_grabbed_elsewhere_raises_device_unavailable() -> None:
    device = RecordedInputDevice([])

    def busy() -> None:
        raise OSError(errno.EBUSY, "Device or resource busy")

    device.grab = busy  # type: ignore[method-assign]
    with pytest.raises(DeviceUnavailable, match="grab"):
        scanner_for(device).open()
    assert device.closed


def test_reading_a_closed_scanner_raises_device_unavailable() -> None:
    with pytest.raises(DeviceUnavailable, match="not open"):
        EvdevScanner(BY_ID).read(timeout=0)


def test_status_names_the_device_and_its_by_id_port() -> None:
    scanner = scanner_for(RecordedInputDevice([], name="Honeywell 1900"))
    status = scanner.open()
    assert (status.state, status.model, status.port) == ("online", "Honeywell 1900", BY_ID)


def test_candidates_are_empty_without_dev_input(tmp_path: Path) -> None:
    assert list_scanner_candidates(str(tmp_path / "input"), str(tmp_path / "by-id")) == []


def test_keyboard_like_means_enter_plus_a_full_digit_row() -> None:
    top_row = [e.KEY_ENTER] + [getattr(e, f"KEY_{d}") for d in range(10)]
    keypad = [e.KEY_KPENTER] + [getattr(e, f"KEY_KP{d}") for d in range(10)]
    mouse = [e.BTN_LEFT, e.BTN_RIGHT]
    assert is_keyboard_like(top_row) and is_keyboard_like(keypad)
    assert not is_keyboard_like(mouse)
    assert not is_keyboard_like(top_row[1:])  # digits but no Enter: a numeric pad toy
