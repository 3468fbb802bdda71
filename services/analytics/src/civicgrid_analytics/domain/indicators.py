"""The indicators of docs/domain.md as definitions over counts (pure)."""

from __future__ import annotations

from enum import StrEnum


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
    TIER = "tier"


def rate(numerator: int, denominator: int) -> float | None:
    """A fraction in [0, 1], or None when undefined (nothing to divide by)."""
    if denominator <= 0:
        return None
    return min(1.0, numerator / denominator)


def finish(counts: dict[str, int]) -> dict[str, int | float | None]:
    """Add derived rates to raw counts."""
    out: dict[str, int | float | None] = dict(counts)
    out["accepted"] = counts["registered"]
    out["registration_rate"] = rate(counts["registered"], counts["received"])
    return out
