"""When a promotion runs: days of the week, a time of day, and a span of dates, all in
the store's local time.

HQ authors "周三会员日", "every day 20:00–22:00 bakery half price" or "春节 2026-02-14 to
2026-02-24" as a `TimeWindow`; the till asks `contains(at)` with the store's local
wall-clock time (the edge passes `datetime.now(store_zone)`; only the wall-clock fields
of `at` are read, so a naive local datetime works the same).

- `days`: ISO weekdays, 1 = Monday … 7 = Sunday; all seven when left out.
- `start_time` inclusive, `end_time` exclusive; either left out means midnight. An end
  before the start runs past midnight (22:00–02:00): the hours after midnight belong to
  the evening it opened, so Friday 22:00–02:00 still runs at 01:30 on Saturday and not at
  01:30 on Friday.
- `start_date`, `end_date` inclusive, of the day the window opened.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Final

from pydantic import Field, model_validator

from domain.pricing.authored import Authored, Listed, LocalDate, LocalTime

ALL_DAYS: Final = (1, 2, 3, 4, 5, 6, 7)
Weekday = Annotated[int, Field(ge=1, le=7)]


class TimeWindow(Authored):
    """When a promotion runs; the default is always."""

    days: Listed[Weekday] = Field(default=ALL_DAYS, min_length=1, max_length=7)
    start_time: LocalTime | None = None
    end_time: LocalTime | None = None
    start_date: LocalDate | None = None
    end_date: LocalDate | None = None

    @model_validator(mode="after")
    def _coherent(self) -> TimeWindow:
        if len(set(self.days)) != len(self.days):
            raise ValueError("a weekday is listed twice")
        if self.start_time is not None and self.start_time == self.end_time:
            raise ValueError("start and end time are the same: leave both out for all day")
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValueError("the end date is before the start date")
        return self

    def contains(self, at: datetime) -> bool:
        """Whether the window is open at local wall-clock time `at`."""
        opened = self._opened_on(at.date(), at.time().replace(tzinfo=None))
        if opened is None or opened.isoweekday() not in self.days:
            return False
        if self.start_date is not None and opened < self.start_date:
            return False
        return self.end_date is None or opened <= self.end_date

    def _opened_on(self, day: date, now: time) -> date | None:
        """The day whose opening of the window `now` falls in, if any."""
        start = self.start_time or time(0)
        end = self.end_time
        if end is None or end == time(0) or start < end:
            in_window = start <= now and (end is None or end == time(0) or now < end)
            return day if in_window else None
        if now >= start:  # runs past midnight: the evening part
            return day
        if now < end:  # the early-morning part of yesterday's window
            return day - timedelta(days=1)
        return None
