"""SerialScanner over a real pty, and its pure line framing."""

from __future__ import annotations

import os

import pytest

from devices.errors import DeviceUnavailable
from devices.events import ScanEvent
from devices.scanner.lines import LineDecoder, clean_code
from devices.scanner.serial_scanner import SerialScanner


def read_events(scanner: SerialScanner, count: int) -> list[ScanEvent]:
    events: list[ScanEvent] = []
    for _ in range(50):  # each read waits for data; 50 rounds only bound a hang
        events += scanner.read(timeout=0.2)
        if len(events) >= count:
            break
    return events


def read_codes(scanner: SerialScanner, count: int) -> list[str]:
    return [ev.code for ev in read_events(scanner, count)]


def test_each_crlf_line_from_the_port_is_one_scan(pty_pair: tuple[int, str]) -> None:
    master, path = pty_pair
    with SerialScanner(path, device_id="lane1-scanner") as scanner:
        os.write(master, b"6901234567892\r\nABC-123\r\n")
        events = read_events(scanner, 2)
    assert [(ev.device, ev.code, ev.symbology_hint) for ev in events] == [
        ("lane1-scanner", "6901234567892", "EAN-13"),
        ("lane1-scanner", "ABC-123", None),
    ]


def test_a_line_split_across_writes_is_one_scan(pty_pair: tuple[int, str]) -> None:
    master, path = pty_pair
    with SerialScanner(path) as scanner:
        os.write(master, b"69012345")
        assert scanner.read(timeout=0.1) == []
        os.write(master, b"67892\r")
        assert read_codes(scanner, 1) == ["6901234567892"]


def test_noise_and_control_characters_are_stripped(pty_pair: tuple[int, str]) -> None:
    master, path = pty_pair
    with SerialScanner(path) as scanner:
        os.write(master, b"\x00\x02 SKU-42\x03\x7f \r\n\r\n\x00\r\n")
        assert read_codes(scanner, 1) == ["SKU-42"]
        os.write(master, b"NEXT1\n")  # the blank and NUL-only lines made no scans
        assert read_codes(scanner, 1) == ["NEXT1"]


def test_terminator_is_configurable(pty_pair: tuple[int, str]) -> None:
    master, path = pty_pair
    with SerialScanner(path, terminators=b"\t") as scanner:
        os.write(master, b"A1\r\nB2\t")
        assert read_codes(scanner, 1) == ["A1B2"]


def test_a_vanished_port_raises_device_unavailable() -> None:
    master, slave = os.openpty()
    try:
        scanner = SerialScanner(os.ttyname(slave))
        scanner.open()
        os.close(master)  # the adapter is pulled out
        with pytest.raises(DeviceUnavailable):
            scanner.read(timeout=1)
        assert not scanner.is_open
    finally:
        os.close(slave)


def test_a_missing_port_raises_device_unavailable() -> None:
    with pytest.raises(DeviceUnavailable, match="cannot open"):
        SerialScanner("/dev/serial/by-id/usb-no-such-scanner").open()


def test_gs1_separator_survives_cleaning() -> None:
    assert clean_code("\x020109501101530003\x1d10ABC\x03") == "0109501101530003\x1d10ABC"


def test_runaway_line_without_terminator_is_dropped() -> None:
    lines = LineDecoder(max_length=8)
    assert lines.feed(b"0123456789ABCDEF") == []
    assert lines.feed(b"\rOK1\r") == ["OK1"]


def test_non_utf8_bytes_do_not_crash_the_decoder() -> None:
    assert LineDecoder().feed(b"AB\xffC\r") == ["AB\ufffdC"]
