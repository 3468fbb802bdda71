"""Enforcement's deadlines on the city's working-day calendar (see civicgrid_shared.calendar)."""

from __future__ import annotations

from datetime import datetime, time

from civicgrid_shared.calendar import CITY_TZ, is_working_day, nth_working_day_after

__all__ = ["CITY_TZ", "end_of_working_days", "is_working_day", "nth_working_day_after"]


def end_of_working_days(start: datetime, n: int) -> datetime:
    """The last instant of the n-th working day after ``start``'s own day, city time."""
    last = nth_working_day_after(start.astimezone(CITY_TZ).date(), n)
    return datetime.combine(last, time(23, 59, 59, 999999), tzinfo=CITY_TZ)
