"""The audit trail's search as the hub and a node both read it: local days turned into
the trail's bounds (the `to` day included), a day written YYYY-MM-DD and nothing else,
a filter form that says what it cannot read, and an entry as the API answers it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from cloud.services.catalog import set_catalog_item
from domain.audit.search import (
    DAY_PATTERN,
    LATEST_MS,
    AuditEntryOut,
    AuditForm,
    AuditSearch,
    DayFilter,
    csv_filename,
    day_bounds,
    parse_day,
)
from domain.audit.trail import AuditEntry
from domain.catalog.kinds import ItemFields
from tests.domain.conftest import MakeStore


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def test_a_day_in_shanghai_runs_from_its_midnight_to_the_next() -> None:
    assert day_bounds(date(2026, 12, 1), date(2026, 12, 1), "Asia/Shanghai") == (
        ms("2026-11-30T16:00:00+00:00"),
        ms("2026-12-01T16:00:00+00:00"),
    )


def test_an_open_end_bounds_nothing() -> None:
    assert day_bounds(None, None, "UTC") == (None, None)
    assert day_bounds(None, date(2026, 12, 1), "UTC") == (None, ms("2026-12-02T00:00:00+00:00"))


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai", "Pacific/Kiritimati", "Etc/GMT+12"])
def test_the_first_and_last_days_a_date_can_name_are_the_stamps_ends(zone: str) -> None:
    assert day_bounds(date.min, date.max, zone) == (0, None)
    assert day_bounds(date(9999, 12, 30), date(9999, 12, 30), zone) == (LATEST_MS, LATEST_MS)
    assert day_bounds(date(1969, 12, 30), date(1969, 12, 30), zone) == (0, 0)


@pytest.mark.parametrize("text", ["2026-12-01", "0001-01-01", "9999-12-31"])
def test_a_day_is_written_yyyy_mm_dd(text: str) -> None:
    assert parse_day(text) == date.fromisoformat(text)
    assert parse_day(date.fromisoformat(text)) == date.fromisoformat(text)


@pytest.mark.parametrize(
    "bad",
    [
        "20261201",
        "2026-02-30",
        "2026-12-1",
        " 2026-12-01",
        "2026-12-01\n",
        "2026-12-01T00:00",
        "０２０２６-12-01",
        "",
        0,
        1764547200,
        datetime(2026, 12, 1, tzinfo=UTC),
        None,
    ],
)
def test_anything_else_is_refused_in_both_languages(bad: object) -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_day(bad)
    if bad is not None:  # the API's filter: None is leaving it out
        with pytest.raises(ValidationError) as refused:
            TypeAdapter(DayFilter).validate_python(bad)
        assert refused.value.errors()[0]["ctx"]["message_zh"] == "日期格式应为 YYYY-MM-DD"


def test_the_document_gives_a_days_type_alone() -> None:
    """A query string cannot say null: an optional filter is documented as its type."""
    schema: dict[str, Any] = TypeAdapter(DayFilter).json_schema()
    assert schema == {"type": "string", "format": "date", "pattern": DAY_PATTERN}


def test_an_empty_form_searches_everything() -> None:
    form = AuditForm.read()
    assert form.search == AuditSearch() and form.unreadable == () and form.problems == ()


def test_the_form_is_read_trimmed_and_without_control_characters() -> None:
    form = AuditForm.read(" login ", " c001\x07 ", "store-1 ", "2026-12-01 ", "2026-12-02")
    assert form.search == AuditSearch(
        "login", "c001", "store-1", date(2026, 12, 1), date(2026, 12, 2)
    )
    assert (form.action, form.since) == ("login", "2026-12-01")  # shown back as typed


def test_the_form_says_what_it_cannot_read_once_each_and_searches_nothing() -> None:
    form = AuditForm.read("drop_table", since="12/01/2026", until="2026-02-30")
    assert form.search is None
    assert form.unreadable == ("action", "from", "to")
    assert form.problems == ("action", "date")
    assert AuditForm.read(until="tomorrow").problems == ("date",)


def test_an_entry_is_answered_with_its_instant_in_utc() -> None:
    at_ms = ms("2026-12-01T02:03:04.5+00:00")
    entry = AuditEntry(at_ms, "c001", "login", "c001", "store-1", None, "", "store-1", 7)
    out = AuditEntryOut.of(entry)
    assert out.at == datetime(2026, 12, 1, 2, 3, 4, 500_000, tzinfo=UTC)
    assert (out.at_ms, out.actor, out.location) == (entry.at_ms, "c001", "store-1")


def test_the_csv_is_named_for_where_and_when() -> None:
    assert csv_filename("store-1", datetime(2026, 12, 1, 18, 30, 5)) == (
        "audit-store-1-20261201-183005.csv"
    )


def test_a_search_counts_its_to_day_in_and_the_day_after_out(make_store: MakeStore) -> None:
    hub = make_store("cloud")
    set_catalog_item(hub, "COLA-330", ItemFields(price_fen=350), "ops.zhang")
    today = datetime.now(UTC).date()
    with hub.read() as conn:
        (found,) = AuditSearch(since=today, until=today).entries(conn, timezone="UTC", limit=9)
        assert (found.action, found.subject) == ("catalog_changed", "COLA-330")
        before = AuditSearch(until=date(2020, 1, 1)).entries(conn, timezone="UTC", limit=9)
        assert before == []
