"""WeightEvent: its JSON form and validation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from devices.errors import InvalidEvent
from devices.events import WeightEvent, event_from_json

TS = datetime(2025, 3, 1, 8, 30, 15, 250000, tzinfo=UTC)


def test_weight_event_round_trips_through_json_text() -> None:
    event = WeightEvent("lane1-scale", -50, True, 100, False, False, TS)
    data = json.loads(json.dumps(event.to_json()))
    assert data["type"] == "weight" and data["device"] == "lane1-scale"
    assert data["ts"] == "2025-03-01T08:30:15.250000+00:00"
    assert WeightEvent.from_json(data) == event
    assert event_from_json(data) == event


def test_timestamps_are_stored_in_utc() -> None:
    shanghai = timezone(timedelta(hours=8))
    event = WeightEvent("s", 1, True, 0, False, False, TS.astimezone(shanghai))
    assert event.ts.utcoffset() == timedelta(0) and event.ts == TS


def test_naive_timestamp_is_refused() -> None:
    with pytest.raises(InvalidEvent, match="timezone"):
        WeightEvent("s", 1, True, 0, False, False, datetime(2025, 1, 1))


@pytest.mark.parametrize(
    ("field", "bad"), [("grams", "12"), ("grams", True), ("stable", 1), ("ts", "yesterday")]
)
def test_malformed_payloads_raise_invalid_event(field: str, bad: object) -> None:
    data = WeightEvent("s", 1, True, 0, False, False, TS).to_json()
    data[field] = bad
    with pytest.raises(InvalidEvent, match=field):
        WeightEvent.from_json(data)


def test_missing_field_is_named() -> None:
    data = WeightEvent("s", 1, True, 0, False, False, TS).to_json()
    del data["tare_grams"]
    with pytest.raises(InvalidEvent, match="tare_grams"):
        event_from_json(data)
