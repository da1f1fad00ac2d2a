"""Business-hours minutes across nights, weekends, holidays and time zones."""

from __future__ import annotations

import datetime as dt

import pytest

from ttfr.hours import business_minutes, calendar_from_dict

NA = calendar_from_dict(team="NA", data={"time_zone": "America/New_York", "country": "US"})
EMEA = calendar_from_dict(team="EMEA", data={"time_zone": "Europe/Berlin", "country": "DE"})
APAC = calendar_from_dict(team="APAC", data={"time_zone": "Asia/Tokyo", "country": "JP"})
MEA = calendar_from_dict(
    team="MEA", data={"time_zone": "Asia/Dubai", "country": "AE", "days": [0, 1, 2, 3, 4]}
)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("calendar", "start", "end", "minutes"),
    [
        # inside one working day (Mon 2 Mar 2026, New York is UTC-5)
        (NA, utc(2026, 3, 2, 14, 0), utc(2026, 3, 2, 14, 45, 30), 45.5),
        # overnight: 17:30 → next day 08:30 local counts 30 + 30
        (NA, utc(2026, 3, 2, 22, 30), utc(2026, 3, 3, 13, 30), 60.0),
        # lead before opening: counts from 08:00 local
        (NA, utc(2026, 3, 2, 10, 0), utc(2026, 3, 2, 13, 15), 15.0),
        # weekend: Fri 17:00 → Mon 09:00 local = 60 + 60
        (NA, utc(2026, 3, 6, 22, 0), utc(2026, 3, 9, 13, 0), 120.0),
        # US holiday: Wed 17:00 → Fri 09:00 local skips Thanksgiving (26 Nov)
        (NA, utc(2026, 11, 25, 22, 0), utc(2026, 11, 27, 14, 0), 120.0),
        # German holiday (3 Oct 2025, a Friday): Thursday 17:00 → Monday 09:00 = 60 + 60
        (EMEA, utc(2025, 10, 2, 15, 0), utc(2025, 10, 6, 7, 0), 120.0),
        # the same UTC instants on a Tokyo clock: 09:00-10:00 JST on a Monday
        (APAC, utc(2026, 3, 2, 0, 0), utc(2026, 3, 2, 1, 0), 60.0),
        # ...are night-time in New York
        (NA, utc(2026, 3, 2, 0, 0), utc(2026, 3, 2, 1, 0), 0.0),
        # daylight saving starts on Sun 8 Mar 2026: Mon 9 Mar 08:00 EDT is 12:00 UTC
        (NA, utc(2026, 3, 9, 11, 0), utc(2026, 3, 9, 13, 0), 60.0),
        # end before start
        (NA, utc(2026, 3, 2, 15, 0), utc(2026, 3, 2, 14, 0), 0.0),
        # Dubai on a Saturday (not a working day)
        (MEA, utc(2026, 3, 7, 6, 0), utc(2026, 3, 7, 9, 0), 0.0),
    ],
)
def test_business_minutes(calendar, start, end, minutes):
    assert business_minutes(start=start, end=end, calendar=calendar) == minutes


def test_a_full_working_week_is_fifty_hours():
    week = business_minutes(start=utc(2026, 3, 2, 5, 0), end=utc(2026, 3, 9, 5, 0), calendar=NA)
    assert week == 50 * 60


def test_unknown_time_zone_is_rejected():
    with pytest.raises(Exception, match="Mars"):
        calendar_from_dict(team="X", data={"time_zone": "Mars/Olympus"})
