"""Routing: territory + matter → the unit at the lowest tier able to handle it.

The urban-management responsibility rule (部件先属主后属地，事件先属地后属主): a
component (a physical asset) goes first to the department that owns it; an event goes
first to the territory at the matter's expected tier, then to the owning department.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from civicgrid_shared.contracts.events import TerritoryRef

# The territorial unit that handles matters at each tier below the county.
TERRITORIAL_UNIT_KIND = {
    "grid": "community_committee",
    "community": "community_committee",
    "township": "township_office",
}
CITY_PLATFORM_KIND = "city_platform"


@dataclass(frozen=True)
class MatterRule:
    code: str
    category_code: str
    nature: str  # "component" | "event"
    department_kind: str
    expected_tier: str  # grid | community | township | county | city
    priority: str
    sign_for_hours: float
    resolve_amount: float
    resolve_unit: str  # "hours" | "working_days"
    enforcement: bool = False


@dataclass(frozen=True)
class Assignment:
    unit_id: str
    tier: str


class UnitFinder(Protocol):
    city_platform: str

    def find(self, kind: str, territory_code: str) -> str | None: ...


def _territory_code(territory: TerritoryRef, tier: str) -> str | None:
    return {
        "grid": territory.community_code,
        "community": territory.community_code,
        "township": territory.township_code,
        "county": territory.county_code,
    }.get(tier)


def route(matter: MatterRule, territory: TerritoryRef, units: UnitFinder) -> Assignment:
    owner = (units.find(matter.department_kind, territory.county_code)
             if territory.county_code else None)
    owner_first = matter.nature == "component" or matter.expected_tier in ("county", "city")
    if owner_first and owner is not None:
        return Assignment(owner, "county")
    kind = TERRITORIAL_UNIT_KIND.get(matter.expected_tier)
    code = _territory_code(territory, matter.expected_tier)
    if kind is not None and code is not None:
        local = units.find(kind, code)
        if local is not None:
            return Assignment(local, matter.expected_tier)
    if owner is not None:
        return Assignment(owner, "county")
    # Nobody in the registry fits: the city platform routes it by hand.
    return Assignment(units.city_platform, "city")
