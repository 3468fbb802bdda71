"""The indicators of docs/domain.md (pure): counts by event time, and rates over them.

Counts are *flows*: each moment is counted in the window that contains it (an appeal
received on Monday and registered on Tuesday counts as received on Monday). Rates are
*cohort* fractions: the denominator is the cases that entered a stage within the window,
the numerator those of them that reached the outcome (at any time up to now). So every
rate is in [0, 1], replaying the history gives the same figures, and a rate is ``None``
when its cohort is empty. The README of this service defines each one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Dimension(StrEnum):
    """What indicators can be grouped and filtered by (bounded, never personal)."""

    CHANNEL = "channel"
    MATTER = "matter_code"
    CATEGORY = "category_code"
    COUNTY = "county_code"
    TOWNSHIP = "township_code"
    COMMUNITY = "community_code"
    GRID = "grid_code"
    UNIT = "unit_id"
    GRID_WORKER = "grid_worker_id"
    TIER = "tier"
    HISTORY_SOURCE = "history_source"  # imported history, e.g. "nyc-311-2011"
    HISTORY_AGENCY = "history_agency"  # the source system's handling agency


#: Counts computed by the query (adapters/indicator_sql.py), all integers.
COUNT_FIELDS: tuple[str, ...] = (
    "received", "registered", "rejected", "merged", "assigned", "signed", "signed_on_time",
    "returned", "escalated", "disposed", "disposed_on_time", "resolved_on_spot",
    "called_back", "solved", "satisfied", "basically_satisfied", "reopened", "closed",
    "closed_on_time", "closed_reworked", "due", "due_closed", "due_closed_on_time",
    "received_registered", "accepted_disposed", "assigned_signed_on_time",
    "open", "overdue_open",
)

#: counts ``finish`` derives from others (the ones it may read)
DERIVED_COUNTS: dict[str, tuple[str, ...]] = {
    "accepted": ("registered",),
    "satisfied_total": ("satisfied", "basically_satisfied"),
}

#: rate -> (numerator count, denominator count)
RATES: dict[str, tuple[str, str]] = {
    "registration_rate": ("received_registered", "received"),
    "disposal_rate": ("accepted_disposed", "accepted"),
    "response_rate": ("assigned_signed_on_time", "assigned"),
    "closing_rate": ("due_closed", "due"),
    "on_time_closing_rate": ("due_closed_on_time", "due"),
    "on_time_disposal_rate": ("disposed_on_time", "disposed"),
    "resolution_rate": ("solved", "called_back"),
    "satisfaction_rate": ("satisfied_total", "called_back"),
    "rework_rate": ("closed_reworked", "closed"),
}


@dataclass(frozen=True)
class IndicatorSettings:
    """Choices the city makes about its definitions."""

    # 满意率: do "basically satisfied" answers count as satisfied?
    basically_satisfied_counts: bool = True


def rate(numerator: int, denominator: int) -> float | None:
    """A fraction in [0, 1], or None when undefined (nothing to divide by)."""
    if denominator <= 0:
        return None
    if not 0 <= numerator <= denominator:
        raise ValueError(f"a cohort rate needs 0 <= {numerator} <= {denominator}")
    return numerator / denominator


def finish(raw: dict[str, Any], settings: IndicatorSettings | None = None
           ) -> dict[str, int | float | None]:
    """Counts (and the median) from the query, plus every derived rate."""
    basic = settings.basically_satisfied_counts if settings else True
    counts: dict[str, int] = {}
    for n in COUNT_FIELDS:  # thousands of rows per query: no conversion of what is an int
        v = raw.get(n)
        counts[n] = v if type(v) is int else int(v or 0)
    counts["accepted"] = counts["registered"]
    counts["satisfied_total"] = counts["satisfied"] + (
        counts["basically_satisfied"] if basic else 0)
    out: dict[str, int | float | None] = dict(counts)
    for name, (num, den) in RATES.items():
        out[name] = rate(counts[num], counts[den])
    median = raw.get("median_handling_hours")
    out["median_handling_hours"] = None if median is None else float(median)
    return out
