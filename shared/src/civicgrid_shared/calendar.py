"""The city's working-day calendar: Chinese public holidays and make-up working days.

Dispatch's time limits and enforcement's disclosure deadlines count working days on the
same calendar. Holiday data comes from the chinese-calendar library. For a year it does
not know yet (the State Council publishes each schedule in the autumn before) only
weekends are days off, so a deadline is at worst a holiday too early, never late.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
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


@functools.lru_cache(maxsize=4096)  # every case asks it for today and a few limits
def nth_working_day_after(day: date, n: int) -> date:
    """The n-th working day after ``day`` (``day`` itself not counted)."""
    if n < 1:
        raise ValueError("n must be at least 1")
    current, remaining = day, n
    while remaining:
        current += timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current
