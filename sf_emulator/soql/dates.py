"""Relative date literals (``TODAY``, ``LAST_N_DAYS:7`` ...) as half-open UTC ranges."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sf_emulator.soql.nodes import RelativeDate

# name -> whether it takes ":n"
RELATIVE_DATES: dict[str, bool] = {
    "YESTERDAY": False,
    "TODAY": False,
    "TOMORROW": False,
    "LAST_WEEK": False,
    "THIS_WEEK": False,
    "NEXT_WEEK": False,
    "LAST_MONTH": False,
    "THIS_MONTH": False,
    "NEXT_MONTH": False,
    "LAST_90_DAYS": False,
    "NEXT_90_DAYS": False,
    "THIS_QUARTER": False,
    "LAST_QUARTER": False,
    "NEXT_QUARTER": False,
    "THIS_YEAR": False,
    "LAST_YEAR": False,
    "NEXT_YEAR": False,
    "LAST_N_DAYS": True,
    "NEXT_N_DAYS": True,
    "N_DAYS_AGO": True,
    "LAST_N_HOURS": True,
    "NEXT_N_HOURS": True,
    "LAST_N_WEEKS": True,
    "NEXT_N_WEEKS": True,
    "N_WEEKS_AGO": True,
    "LAST_N_MONTHS": True,
    "NEXT_N_MONTHS": True,
    "N_MONTHS_AGO": True,
    "LAST_N_QUARTERS": True,
    "NEXT_N_QUARTERS": True,
    "LAST_N_YEARS": True,
    "NEXT_N_YEARS": True,
    "N_YEARS_AGO": True,
    "N_QUARTERS_AGO": True,
    # The emulated org's fiscal year is the calendar year (Salesforce's default).
    "THIS_FISCAL_QUARTER": False,
    "LAST_FISCAL_QUARTER": False,
    "NEXT_FISCAL_QUARTER": False,
    "THIS_FISCAL_YEAR": False,
    "LAST_FISCAL_YEAR": False,
    "NEXT_FISCAL_YEAR": False,
    "LAST_N_FISCAL_QUARTERS": True,
    "NEXT_N_FISCAL_QUARTERS": True,
    "N_FISCAL_QUARTERS_AGO": True,
    "LAST_N_FISCAL_YEARS": True,
    "NEXT_N_FISCAL_YEARS": True,
    "N_FISCAL_YEARS_AGO": True,
}
Range = tuple[dt.datetime, dt.datetime]
Step = Callable[[dt.datetime, int], dt.datetime]
_DAY = dt.timedelta(days=1)


def date_range(literal: RelativeDate, *, now: dt.datetime) -> Range:
    """``[start, end)`` in UTC that ``literal`` covers at ``now`` (weeks start on Sunday)."""
    now = now.astimezone(dt.UTC)
    n = literal.n or 0
    name = literal.name.replace("FISCAL_", "")
    if name.endswith("_HOURS"):
        hours = dt.timedelta(hours=n)
        # "The last n hours" includes the current instant: the range ends just after it.
        after_now = now + dt.timedelta(microseconds=1)
        return (now - hours, after_now) if name.startswith("LAST") else (now, now + hours)
    today = _midnight(now.date())
    if name.endswith("DAYS") or name in ("YESTERDAY", "TODAY", "TOMORROW", "N_DAYS_AGO"):
        return _days(name, n, today)
    if "WEEK" in name:
        return _spans(name, n, today - (today.weekday() + 1) % 7 * _DAY, _add_weeks)
    if "MONTH" in name:
        return _spans(name, n, today.replace(day=1), _add_months)
    if "QUARTER" in name:
        start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        return _spans(name, n, start, lambda moment, k: _add_months(moment, 3 * k))
    return _spans(name, n, today.replace(month=1, day=1), lambda m, k: _add_months(m, 12 * k))


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _days(name: str, n: int, today: dt.datetime) -> Range:
    fixed = {"YESTERDAY": -1, "TODAY": 0, "TOMORROW": 1}
    if name in fixed:
        start = today + fixed[name] * _DAY
        return start, start + _DAY
    if name == "N_DAYS_AGO":
        return today - n * _DAY, today - (n - 1) * _DAY
    n = 90 if "90" in name else n
    if name.startswith("LAST"):
        return today - n * _DAY, today + _DAY
    return today + _DAY, today + (n + 1) * _DAY


def _spans(name: str, n: int, current: dt.datetime, add: Step) -> Range:
    """Ranges over calendar spans (weeks, months, quarters, years) around ``current``."""
    if name.startswith("THIS"):
        return current, add(current, 1)
    if name.startswith("LAST_N"):
        return add(current, -n), current
    if name.startswith("NEXT_N"):
        return add(current, 1), add(current, n + 1)
    if name.startswith("N_"):
        return add(current, -n), add(current, 1 - n)
    step = -1 if name.startswith("LAST") else 1
    start = add(current, step)
    return start, add(start, 1)


def _add_weeks(moment: dt.datetime, weeks: int) -> dt.datetime:
    return moment + dt.timedelta(weeks=weeks)


def _add_months(moment: dt.datetime, months: int) -> dt.datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1, day=1)
