"""The territory aggregate: city > counties > townships > communities > grids."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

from .models import (
    City,
    Code6,
    Community,
    County,
    FileHeader,
    Grid,
    TerritoryPath,
    Tier,
    Township,
)
from .spatial import RectIndex

AnyArea = City | County | Township | Community | Grid


@dataclass(frozen=True, slots=True)
class _TerritoryIndex:
    counties: dict[str, County]
    townships: dict[str, Township]
    communities: dict[str, Community]
    grids: dict[str, Grid]
    townships_in: dict[str, tuple[Township, ...]]
    communities_in: dict[str, tuple[Community, ...]]
    grids_in: dict[str, tuple[Grid, ...]]
    points: RectIndex

    @classmethod
    def build(cls, t: Territory) -> _TerritoryIndex:
        townships_in: defaultdict[str, list[Township]] = defaultdict(list)
        communities_in: defaultdict[str, list[Community]] = defaultdict(list)
        grids_in: defaultdict[str, list[Grid]] = defaultdict(list)
        for township in t.townships:
            townships_in[township.county_code].append(township)
        for community in t.communities:
            communities_in[community.township_code].append(community)
        for grid in t.grids:
            grids_in[grid.community_code].append(grid)
        return cls(
            counties={c.code: c for c in t.counties},
            townships={c.code: c for c in t.townships},
            communities={c.code: c for c in t.communities},
            grids={g.code: g for g in t.grids},
            townships_in={k: tuple(v) for k, v in townships_in.items()},
            communities_in={k: tuple(v) for k, v in communities_in.items()},
            grids_in={k: tuple(v) for k, v in grids_in.items()},
            points=RectIndex(t.city.bbox, [g.bbox for g in t.grids]),
        )


class Territory(FileHeader):
    """The contents of territory.json, with look-ups indexed on first use."""

    grid_object_code: Code6
    city: City
    counties: tuple[County, ...]
    townships: tuple[Township, ...]
    communities: tuple[Community, ...]
    grids: tuple[Grid, ...]

    def build_indexes(self) -> None:
        """Build the look-up indexes now (the loader calls this, so queries never pay)."""
        _ = self._idx  # computed once here, then cached on the instance

    # cached_property, not a pydantic PrivateAttr: private attribute reads go through
    # BaseModel.__getattr__ (microseconds), too slow for per-request look-ups.
    @cached_property
    def _idx(self) -> _TerritoryIndex:
        return _TerritoryIndex.build(self)

    def county(self, code: str) -> County | None:
        return self._idx.counties.get(code)

    def township(self, code: str) -> Township | None:
        return self._idx.townships.get(code)

    def community(self, code: str) -> Community | None:
        return self._idx.communities.get(code)

    def grid(self, grid_code: str) -> Grid | None:
        return self._idx.grids.get(grid_code)

    def area(self, code: str) -> AnyArea | None:
        """The area of any tier with this code (the tier follows from the code length)."""
        if code == self.city.code:
            return self.city
        idx = self._idx
        found: AnyArea | None
        match len(code):
            case 6:
                found = idx.counties.get(code)
            case 9:
                found = idx.townships.get(code)
            case 12:
                found = idx.communities.get(code)
            case 20:
                found = idx.grids.get(code)
            case _:
                found = None
        return found

    def tier_of(self, code: str) -> Tier | None:
        """The tier of an existing territory code, or None if there is no such area."""
        area = self.area(code)
        match area:
            case City():
                return "city"
            case County():
                return "county"
            case Township():
                return "township"
            case Community():
                return "community"
            case Grid():
                return "grid"
        return None

    def townships_in(self, county_code: str) -> tuple[Township, ...]:
        return self._idx.townships_in.get(county_code, ())

    def communities_in(self, township_code: str) -> tuple[Community, ...]:
        return self._idx.communities_in.get(township_code, ())

    def grids_in(self, community_code: str) -> tuple[Grid, ...]:
        return self._idx.grids_in.get(community_code, ())

    def resolve_point(self, lat: float, lon: float) -> Grid | None:
        """The grid containing the point (WGS-84 degrees), or None outside the city."""
        i = self._idx.points.find(lat, lon)
        return None if i is None else self.grids[i]

    def path(self, grid_code: str) -> TerritoryPath:
        """City-to-grid codes and names; KeyError for an unknown grid code."""
        idx = self._idx
        grid = idx.grids.get(grid_code)
        if grid is None:
            raise KeyError(f"unknown grid code {grid_code!r}")
        # The loader has checked that every parent exists, so these look-ups cannot miss.
        community = idx.communities[grid.community_code]
        township = idx.townships[community.township_code]
        county = idx.counties[township.county_code]
        return TerritoryPath(
            city_code=self.city.code,
            city_name=self.city.name,
            county_code=county.code,
            county_name=county.name,
            township_code=township.code,
            township_name=township.name,
            community_code=community.code,
            community_name=community.name,
            grid_code=grid.code,
            grid_name=grid.name,
        )
