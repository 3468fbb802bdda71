"""Time windows of the indicator API, in the city's time zone (pure)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

CITY_TZ = "Asia/Shanghai"


class Window(StrEnum):
    TODAY = "today"  # the city-local calendar day so far
    D7 = "7d"  # the last 7 city-local days, today included
    D30 = "30d"  # the last 30 city-local days, today included
    YTD = "ytd"  # since 1 January, city-local


def bounds(window: Window, now: datetime, tz: str = CITY_TZ) -> tuple[datetime, datetime]:
    """``[start, end)`` of a window: from a city-local midnight to the next midnight."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    tomorrow = datetime.combine(local.date() + timedelta(days=1), time(), zone)
    match window:
        case Window.TODAY:
            days = 1
        case Window.D7:
            days = 7
        case Window.D30:
            days = 30
        case Window.YTD:
            start = datetime.combine(local.date().replace(month=1, day=1), time(), zone)
            return start, tomorrow
    start = datetime.combine(local.date() - timedelta(days=days - 1), time(), zone)
    return start, tomorrow
