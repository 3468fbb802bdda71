"""Deadlines on the working-day calendar (Chinese public holidays and make-up days).

The holiday data comes from the chinese-calendar library. For a year it does not know
yet (the State Council publishes each year's schedule in the autumn before), only
weekends are days off: a deadline is then at worst a holiday too early, never late.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

# Working days are counted on the city's calendar, not in UTC.
CITY_TZ = ZoneInfo("Asia/Shanghai")


# The calendar is fixed data: memoised, since every deadline walks it day by day.
@functools.lru_cache(maxsize=8192)
def is_working_day(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def add_working_days(start: datetime, days: int) -> datetime:
    """The same time of day, ``days`` working days later (start's own day not counted)."""
    current = start.astimezone(CITY_TZ)
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current.date()):
            remaining -= 1
    return current


def due(start: datetime, amount: float, unit: str) -> datetime:
    """A time limit from ``start``: clock hours, or working days."""
    if unit == "hours":
        return start + timedelta(hours=amount)
    if unit == "working_days":
        return add_working_days(start, int(amount))
    raise ValueError(f"unknown time-limit unit {unit!r}")


def scaled_due(start: datetime, amount: float, unit: str, scale: float = 1.0) -> datetime:
    """``due`` with the window stretched by ``scale`` (simulations and tests run time fast).

    The calendar is applied first, then the scale: at scale 1/3600 a limit of 7 working
    days across a holiday stays proportionally longer than one across a plain week.
    """
    if scale == 1.0:
        return due(start, amount, unit)
    return start + (due(start, amount, unit) - start) * scale


def warn_at(start: datetime, due_at: datetime, fraction: float) -> datetime:
    """When to warn: ``fraction`` of the window before the deadline (never before start)."""
    window = max(due_at - start, timedelta(0))
    return due_at - window * min(max(fraction, 0.0), 1.0)
