"""Deadlines on the city's working-day calendar (see civicgrid_shared.calendar)."""

from __future__ import annotations

from datetime import datetime, timedelta

from civicgrid_shared.calendar import CITY_TZ, is_working_day, nth_working_day_after

__all__ = ["CITY_TZ", "add_working_days", "due", "is_working_day", "scaled_due", "warn_at"]


def add_working_days(start: datetime, days: int) -> datetime:
    """The same time of day, ``days`` working days later (start's own day not counted)."""
    local = start.astimezone(CITY_TZ)
    if days <= 0:
        return local
    return datetime.combine(nth_working_day_after(local.date(), days), local.timetz())


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
