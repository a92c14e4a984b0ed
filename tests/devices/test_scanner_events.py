"""ScanEvent and DeviceStatus JSON forms, and dispatch on "type"."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from devices.errors import InvalidEvent
from devices.events import DeviceStatus, ScanEvent, event_from_json
from devices.scanner.symbology import guess_symbology

TS = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)


def test_scan_event_round_trips_through_json_text() -> None:
    event = ScanEvent("lane1-scanner", "6901234567892", "EAN-13", TS)
    data = json.loads(json.dumps(event.to_json()))
    assert (data["type"], data["device"], data["ts"]) == (
        "scan",
        "lane1-scanner",
        "2025-03-01T08:30:00+00:00",
    )
    assert event_from_json(data) == event


def test_scan_event_without_hint_round_trips() -> None:
    event = ScanEvent("s", "LOC-A1", None, TS)
    assert ScanEvent.from_json(event.to_json()) == event


def test_device_status_round_trips() -> None:
    status = DeviceStatus(
        "lane1-scanner", "offline", "Honeywell 1900", "/dev/input/by-id/x", "unplugged", TS
    )
    assert event_from_json(json.loads(json.dumps(status.to_json()))) == status


def test_unknown_device_state_is_refused() -> None:
    data = DeviceStatus("s", "online", "m", "p", "", TS).to_json()
    data["state"] = "sleepy"
    with pytest.raises(InvalidEvent, match="state"):
        event_from_json(data)


def test_unknown_or_mismatched_type_is_refused() -> None:
    data = ScanEvent("s", "123", None, TS).to_json()
    with pytest.raises(InvalidEvent, match="unknown event type"):
        event_from_json({**data, "type": "smell"})
    with pytest.raises(InvalidEvent, match="expected type"):
        DeviceStatus.from_json(data)


def test_non_object_payload_is_refused() -> None:
    with pytest.raises(InvalidEvent):
        event_from_json(["scan"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("6901234567892", "EAN-13"),
        ("6901234567893", None),  # wrong check digit
        ("96385074", "EAN-8"),
        ("036000291452", "UPC-A"),
        ("ABC-123", None),
    ],
)
def test_symbology_hint_only_for_valid_gtins(code: str, hint: str | None) -> None:
    assert guess_symbology(code) == hint
