"""Enforcement's view of the platform's reference data: teams, departments, grids."""

from __future__ import annotations

from dataclasses import dataclass

from civicgrid_shared.contracts.events import TerritoryRef
from civicgrid_shared.reference.loader import load_territory, load_units
from civicgrid_shared.reference.territory import Territory
from civicgrid_shared.reference.units import UnitRegistry

TEAM_KIND = "enforcement_team"


@dataclass(frozen=True)
class UnitInfo:
    id: str
    kind: str
    tier: str
    territory_code: str
    name: str


class Directory:
    def __init__(self, units: UnitRegistry | None = None,
                 territory: Territory | None = None) -> None:
        self._units = units or load_units()
        self._territory = territory or load_territory()
        self._grids = {g.code for g in self._territory.grids}

    def unit(self, unit_id: str) -> UnitInfo | None:
        u = self._units.unit(unit_id)
        if u is None:
            return None
        return UnitInfo(u.id, u.kind, u.tier, u.territory_code, u.name)

    def units_of_kinds(self, kinds: frozenset[str]) -> list[UnitInfo]:
        return [UnitInfo(u.id, u.kind, u.tier, u.territory_code, u.name)
                for u in self._units.all() if u.kind in kinds]

    def unit_kinds(self) -> frozenset[str]:
        return self._units.kinds()

    def team_for(self, unit_id: str, territory: TerritoryRef) -> UnitInfo | None:
        """The township enforcement team for a hand-over: the unit itself if it is one."""
        own = self.unit(unit_id)
        if own is not None and own.kind == TEAM_KIND:
            return own
        code = territory.township_code or (territory.grid_code[6:15]
                                           if territory.grid_code else None)
        if code is None:
            return None
        team = self._units.find(TEAM_KIND, code)
        return self.unit(team.id) if team is not None else None

    def grid_exists(self, grid_code: str) -> bool:
        return grid_code in self._grids

    @staticmethod
    def township_of_grid(grid_code: str) -> str:
        return grid_code[6:15]

    @staticmethod
    def county_of_township(township_code: str) -> str:
        return township_code[:6]
