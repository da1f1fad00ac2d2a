"""Business hours: minutes between two instants that fall inside a team's working time.

A team's calendar is a time zone, a working window (local start and end) on given weekdays
(0 = Monday), minus the public holidays of one country (the ``holidays`` package). Windows are
built in local time, so daylight-saving changes shorten or lengthen the day the way a clock on
the office wall would.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import holidays

WEEKDAYS = (0, 1, 2, 3, 4)


@dataclass(frozen=True)
class BusinessCalendar:
    team: str
    time_zone: str
    start: dt.time = dt.time(8, 0)
    end: dt.time = dt.time(18, 0)
    days: tuple[int, ...] = WEEKDAYS
    country: str = ""
    _holidays: dict[int, holidays.HolidayBase] = field(
        default_factory=dict, compare=False, repr=False
    )

    def is_holiday(self, day: dt.date) -> bool:
        if not self.country:
            return False
        table = self._holidays.get(day.year)
        if table is None:
            table = holidays.country_holidays(self.country, years=day.year)
            self._holidays[day.year] = table
        return day in table

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The working window of a local date in UTC, or None on days off and holidays."""
        if day.weekday() not in self.days or self.is_holiday(day):
            return None
        zone = ZoneInfo(self.time_zone)
        opens = dt.datetime.combine(day, self.start, tzinfo=zone).astimezone(dt.UTC)
        closes = dt.datetime.combine(day, self.end, tzinfo=zone).astimezone(dt.UTC)
        return opens, closes


def _time(value: str | dt.time) -> dt.time:
    return value if isinstance(value, dt.time) else dt.time.fromisoformat(value)


def calendar_from_dict(*, team: str, data: dict) -> BusinessCalendar:
    """``{"time_zone": "Europe/Berlin", "start": "08:00", "end": "18:00", "days": [0..4],
    "country": "DE"}``; every key but time_zone is optional."""
    ZoneInfo(data["time_zone"])  # fail early on a misspelt zone
    return BusinessCalendar(
        team=team,
        time_zone=data["time_zone"],
        start=_time(data.get("start", "08:00")),
        end=_time(data.get("end", "18:00")),
        days=tuple(data.get("days", WEEKDAYS)),
        country=data.get("country", ""),
    )


def business_minutes(*, start: dt.datetime, end: dt.datetime, calendar: BusinessCalendar) -> float:
    """Working minutes between two aware instants (0 when end is not after start), 2 decimals."""
    if end <= start:
        return 0.0
    zone = ZoneInfo(calendar.time_zone)
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    seconds = 0.0
    while day <= last:
        window = calendar.window(day)
        if window is not None:
            overlap = min(end, window[1]) - max(start, window[0])
            seconds += max(overlap.total_seconds(), 0.0)
        day += dt.timedelta(days=1)
    return round(seconds / 60, 2)
