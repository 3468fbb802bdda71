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
    mediation: bool = False


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


def route(matter: MatterRule, territory: TerritoryRef, units: UnitFinder,
          exclude: frozenset[str] = frozenset()) -> Assignment:
    """The unit for a matter here; units in ``exclude`` (those that returned it) are skipped."""
    owner = (units.find(matter.department_kind, territory.county_code)
             if territory.county_code else None)
    if owner in exclude:
        owner = None
    owner_first = matter.nature == "component" or matter.expected_tier in ("county", "city")
    if owner_first and owner is not None:
        return Assignment(owner, "county")
    kind = TERRITORIAL_UNIT_KIND.get(matter.expected_tier)
    code = _territory_code(territory, matter.expected_tier)
    if kind is not None and code is not None:
        local = units.find(kind, code)
        if local is not None and local not in exclude:
            return Assignment(local, matter.expected_tier)
    if owner is not None:
        return Assignment(owner, "county")
    # Nobody in the registry fits: the city platform routes it by hand.
    return Assignment(units.city_platform, "city")


# Hand-overs (CaseHandedOver.to) and the units that take them.
ENFORCEMENT_TEAM_KIND = "enforcement_team"
MEDIATION_KIND = "mediation_committee"
LABOUR_INSPECTION_KIND = "labour_inspection"
PROCURATORATE_KIND = "procuratorate"
TOWNSHIP_OFFICE_KIND = "township_office"
GRID_KIND = "grid"
GRASSROOTS_TIERS = frozenset({"grid", "community", "township"})


@dataclass(frozen=True)
class DispatchPlan:
    """Who leads (首接负责), who co-operates, and what the case is handed over to."""

    lead: Assignment
    cooperating: tuple[str, ...] = ()
    handover: str | None = None  # "enforcement" | "mediation" | "green_channel"
    priority: str | None = None  # overrides the matter's priority (green channel)


def plan_dispatch(matter: MatterRule, territory: TerritoryRef, units: UnitFinder, *,
                  green_channel: bool = False,
                  exclude: frozenset[str] = frozenset()) -> DispatchPlan:
    """Routing with the joint-handling rules on top of ``route``:

    - green channel (large or collective unpaid wages): county labour inspection leads,
      the county procuratorate co-operates (支持起诉), priority emergency;
    - enforcement matters: the township's comprehensive enforcement team leads ("one
      team enforces"), the owning county department co-operates;
    - grassroots disputes (mediation matters expected below the county): the people's
      mediation committee of the community, else of the township, leads; the unit the
      matter would go to otherwise co-operates. County-level mediation matters stay
      with their department, and the township's mediation committee co-operates.
    Units in ``exclude`` are never chosen to lead.
    """
    base = route(matter, territory, units, exclude)
    county, township = territory.county_code, territory.township_code
    if green_channel and county:
        labour = units.find(LABOUR_INSPECTION_KIND, county)
        if labour is not None and labour not in exclude:
            prosecutor = units.find(PROCURATORATE_KIND, county)
            return DispatchPlan(Assignment(labour, "county"),
                                tuple(u for u in (prosecutor,) if u is not None),
                                handover="green_channel", priority="emergency")
    if matter.enforcement and township:
        team = units.find(ENFORCEMENT_TEAM_KIND, township)
        if team is not None and team not in exclude:
            owner = units.find(matter.department_kind, county) if county else None
            return DispatchPlan(Assignment(team, "township"),
                                tuple(u for u in (owner,) if u is not None and u != team),
                                handover="enforcement")
    if matter.mediation:
        committee, tier = None, "township"
        if territory.community_code:
            committee, tier = units.find(MEDIATION_KIND, territory.community_code), "community"
        if committee is None and township:
            committee, tier = units.find(MEDIATION_KIND, township), "township"
        if matter.expected_tier in GRASSROOTS_TIERS:
            if committee is not None and committee not in exclude:
                others = () if base.unit_id in (committee, units.city_platform) \
                    else (base.unit_id,)
                return DispatchPlan(Assignment(committee, tier), others, handover="mediation")
        elif township:
            township_committee = units.find(MEDIATION_KIND, township)
            if township_committee is not None and township_committee != base.unit_id:
                return DispatchPlan(base, (township_committee,))
    return DispatchPlan(base)
