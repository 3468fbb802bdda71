"""Intake's view of the reference data: grids for locations, codes for matters."""

from __future__ import annotations

from civicgrid_shared.contracts.events import TerritoryRef
from civicgrid_shared.reference.catalog import MatterCatalog
from civicgrid_shared.reference.loader import load_matters, load_territory, load_units
from civicgrid_shared.reference.territory import Territory
from civicgrid_shared.reference.units import UnitRegistry

from civicgrid_intake.domain.duplicates import DuplicateRule


class ReferenceLocator:
    """Resolves a grid code or a point to the territory path (county → grid)."""

    def __init__(self, territory: Territory | None = None) -> None:
        self._territory = territory or load_territory()

    def by_grid_code(self, grid_code: str) -> TerritoryRef | None:
        if self._territory.grid(grid_code) is None:
            return None
        path = self._territory.path(grid_code)
        return TerritoryRef(county_code=path.county_code, township_code=path.township_code,
                            community_code=path.community_code, grid_code=path.grid_code)

    def by_point(self, latitude: float, longitude: float) -> TerritoryRef | None:
        grid = self._territory.resolve_point(latitude, longitude)
        return self.by_grid_code(grid.code) if grid is not None else None


def catalog_codes() -> frozenset[str]:
    return frozenset(m.code for m in load_matters().all())


class CatalogRules:
    """Matter codes and their duplicate rules, from the matter catalog."""

    def __init__(self, catalog: MatterCatalog | None = None) -> None:
        self._catalog = catalog or load_matters()

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self._catalog.matter(code) is not None

    def duplicate_rule(self, code: str) -> DuplicateRule:
        m = self._catalog.matter(code)
        if m is None:
            return DuplicateRule()
        return DuplicateRule(radius_m=float(m.duplicate_radius_m),
                             window_hours=float(m.duplicate_window_hours))


class ReferenceUnits:
    """Unit names for citizens' progress notes (a unit's name is public)."""

    def __init__(self, units: UnitRegistry | None = None) -> None:
        self._units = units or load_units()

    def unit_name(self, unit_id: str) -> str | None:
        unit = self._units.unit(unit_id)
        return unit.name if unit is not None else None
