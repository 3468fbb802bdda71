"""Intake's view of the reference data: grids for locations, codes for matters."""

from __future__ import annotations

from civicgrid_shared.contracts.events import TerritoryRef
from civicgrid_shared.reference.loader import load_matters, load_territory
from civicgrid_shared.reference.territory import Territory


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
