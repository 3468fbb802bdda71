"""Frozen pydantic models of the records in the reference data files.

The aggregates that index these records (Territory, UnitRegistry, MatterCatalog) live
in their own modules; this one holds only the record shapes and their field rules.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Tier = Literal["city", "county", "township", "community", "grid"]
# The tiers a matter can be expected to be handled at (the city only escalates).
HandlingTier = Literal["grid", "community", "township", "county"]
GridType = Literal["new_build", "urban_village", "old_neighbourhood", "work_unit", "suburban"]
CountyKind = Literal["district", "county", "county_city"]
TownshipKind = Literal["street", "town", "township"]
CommunityKind = Literal["community", "village"]
Nature = Literal["component", "event"]
Priority = Literal["emergency", "urgent", "normal"]
LimitClass = Literal["emergency", "utility", "general", "complex"]
LimitUnit = Literal["hours", "working_days"]

Code6 = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
Code9 = Annotated[str, StringConstraints(pattern=r"^\d{9}$")]
Code12 = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
Code20 = Annotated[str, StringConstraints(pattern=r"^\d{20}$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
SnakeName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]

# GeoJSON order throughout: longitude first.
BBox = tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat
LonLat = tuple[float, float]  # lon, lat


class FrozenModel(BaseModel):
    # extra="forbid": a misspelt field in a hand-edited data file must fail loudly.
    model_config = ConfigDict(frozen=True, extra="forbid")


class FileHeader(FrozenModel):
    """Fields every reference data file starts with."""

    version: NonEmpty
    generated_with_seed: int
    generator: str = ""
    notes: str = ""


class Area(FrozenModel):
    """An axis-aligned lat/lon rectangle of the territory with a code and a name."""

    code: str
    name: NonEmpty
    bbox: BBox
    centroid: LonLat

    @model_validator(mode="after")
    def _bbox_is_proper(self) -> Area:
        min_lon, min_lat, max_lon, max_lat = self.bbox
        if not (min_lon < max_lon and min_lat < max_lat):
            raise ValueError(f"bbox {list(self.bbox)} is empty or inverted")
        if not self.contains(self.centroid[1], self.centroid[0]):
            raise ValueError(f"centroid {list(self.centroid)} lies outside bbox")
        return self

    @property
    def centroid_lat(self) -> float:
        return self.centroid[1]

    @property
    def centroid_lon(self) -> float:
        return self.centroid[0]

    def contains(self, lat: float, lon: float) -> bool:
        """Half-open test ([min, max)) so that neighbouring rectangles never both match."""
        min_lon, min_lat, max_lon, max_lat = self.bbox
        return min_lon <= lon < max_lon and min_lat <= lat < max_lat


class City(Area):
    code: Code6


class County(Area):
    code: Code6
    kind: CountyKind


class Township(Area):
    code: Code9
    kind: TownshipKind
    county_code: Code6


class Community(Area):
    code: Code12
    kind: CommunityKind
    township_code: Code9


class Grid(Area):
    """A grid (网格): object code (6) + county (6) + street (3) + community (3) + grid (2)."""

    code: Code20
    grid_type: GridType
    community_code: Code12
    # Pseudonymous on purpose: the reference data never carries a worker's real name.
    worker_id: Slug
    worker_code: NonEmpty

    @property
    def object_code(self) -> str:
        return self.code[:6]

    @property
    def county_code(self) -> str:
        return self.code[6:12]

    @property
    def township_code(self) -> str:
        return self.code[6:15]


class TerritoryPath(FrozenModel):
    """Where a grid sits, from the city down, with codes and names."""

    city_code: str
    city_name: str
    county_code: str
    county_name: str
    township_code: str
    township_name: str
    community_code: str
    community_name: str
    grid_code: str
    grid_name: str

    def codes_upward(self) -> tuple[str, str, str, str, str]:
        """Grid first, city last: the order in which to look for a handling unit."""
        return (
            self.grid_code,
            self.community_code,
            self.township_code,
            self.county_code,
            self.city_code,
        )


class Unit(FrozenModel):
    """A handling unit (承办单位): a department, office, committee or grid station."""

    id: Slug
    name: NonEmpty
    kind: SnakeName
    tier: Tier
    territory_code: Annotated[str, StringConstraints(pattern=r"^\d{6}$|^\d{9}$|^\d{12}$|^\d{20}$")]
    # The unit a case escalates to; None only for the city platform at the top.
    parent_id: Slug | None


class MatterCategory(FrozenModel):
    code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    name: NonEmpty
    name_en: NonEmpty


class TimeLimit(FrozenModel):
    value: Annotated[int, Field(gt=0)]
    unit: LimitUnit


class Matter(FrozenModel):
    """One entry of the matter catalog (事项清单)."""

    code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-\d{3}$")]
    name: NonEmpty
    name_en: NonEmpty
    category_code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    category_name: NonEmpty
    category_name_en: NonEmpty
    nature: Nature
    department_kind: SnakeName
    expected_tier: HandlingTier
    time_limit_class: LimitClass
    sign_for_hours: Annotated[float, Field(gt=0)]
    resolve_limit: TimeLimit
    priority: Priority
    enforcement: bool
    mediation: bool
    legal_basis: NonEmpty
    keywords: Annotated[tuple[NonEmpty, ...], Field(min_length=4, max_length=10)]
    duplicate_radius_m: Annotated[int, Field(ge=0)] = 250
    duplicate_window_hours: Annotated[int, Field(gt=0)] = 72
    service_code: NonEmpty
    service_group: NonEmpty
