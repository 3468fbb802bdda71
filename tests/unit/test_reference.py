"""Reference data: the committed files load, are consistent, and are reproducible."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from civicgrid_shared.reference import (
    DATA_DIR,
    ReferenceData,
    ReferenceDataError,
    load_matters,
    load_reference,
    load_territory,
    load_units,
)
from civicgrid_shared.reference.generate import generate

FILES = ("territory.json", "units.json", "matters.json")


@pytest.fixture(scope="module")
def ref() -> ReferenceData:
    return load_reference()


# --- loading and counts ---------------------------------------------------------------


def test_loads_cleanly_and_is_cached(ref: ReferenceData) -> None:
    assert load_reference() is ref
    assert load_territory() is ref.territory
    assert load_units(DATA_DIR) is ref.units  # same directory, same cache entry
    assert load_matters(str(DATA_DIR)) is ref.matters


def test_counts_are_in_range(ref: ReferenceData) -> None:
    t = ref.territory
    assert 9 <= len(t.counties) <= 12
    assert 100 <= len(t.townships) <= 140
    assert 1300 <= len(t.communities) <= 1700
    assert 4400 <= len(t.grids) <= 4800
    assert {g.grid_type for g in t.grids} == {
        "new_build",
        "urban_village",
        "old_neighbourhood",
        "work_unit",
        "suburban",
    }
    assert len(ref.matters.all()) >= 150
    assert len(ref.matters.categories()) >= 12


def test_every_grid_has_its_own_pseudonymous_worker(ref: ReferenceData) -> None:
    grids = ref.territory.grids
    assert len({g.worker_id for g in grids}) == len(grids)
    assert len({g.worker_code for g in grids}) == len(grids)


# --- codes and hierarchy --------------------------------------------------------------


def test_grid_codes_are_20_digits_and_match_their_parents(ref: ReferenceData) -> None:
    t = ref.territory
    for grid in t.grids:
        assert len(grid.code) == 20 and grid.code.isdigit()
        path = t.path(grid.code)
        assert grid.code[:6] == t.grid_object_code
        assert grid.code[6:12] == path.county_code
        assert grid.code[6:15] == path.township_code
        assert grid.code[6:18] == path.community_code == grid.community_code
    for township in t.townships:
        assert township.code[:6] == township.county_code
    for community in t.communities:
        assert community.code[:9] == community.township_code


def test_path_and_lookups(ref: ReferenceData) -> None:
    t = ref.territory
    grid = t.grids[1234]
    path = t.path(grid.code)
    assert t.grid(grid.code) == grid
    community = t.community(path.community_code)
    township = t.township(path.township_code)
    county = t.county(path.county_code)
    assert community is not None and township is not None and county is not None
    assert (path.community_name, path.township_name, path.county_name) == (
        community.name,
        township.name,
        county.name,
    )
    assert path.grid_name == grid.name and path.city_code == t.city.code
    assert grid in t.grids_in(community.code)
    assert community in t.communities_in(township.code)
    assert township in t.townships_in(county.code)
    assert t.tier_of(grid.code) == "grid" and t.tier_of(t.city.code) == "city"
    assert t.grid("0" * 20) is None
    with pytest.raises(KeyError):
        t.path("0" * 20)


# --- point resolution -----------------------------------------------------------------


def test_resolve_point_returns_the_grid_of_each_centroid(ref: ReferenceData) -> None:
    t = ref.territory
    for grid in random.Random(2024).sample(t.grids, 200):
        assert t.resolve_point(grid.centroid_lat, grid.centroid_lon) == grid


def test_resolve_point_is_exact_on_shared_edges(ref: ReferenceData) -> None:
    t = ref.territory
    # The minimum corner belongs to the grid (half-open rectangles): never to a neighbour.
    for grid in random.Random(7).sample(t.grids, 200):
        min_lon, min_lat, _, _ = grid.bbox
        assert t.resolve_point(min_lat, min_lon) == grid


def test_random_points_inside_the_city_resolve_to_the_containing_grid(
    ref: ReferenceData,
) -> None:
    t = ref.territory
    min_lon, min_lat, max_lon, max_lat = t.city.bbox
    rng = random.Random(1)
    for _ in range(500):
        lat, lon = rng.uniform(min_lat, max_lat), rng.uniform(min_lon, max_lon)
        grid = t.resolve_point(lat, lon)
        assert grid is not None and grid.contains(lat, lon)
        assert sum(g.contains(lat, lon) for g in t.grids_in(grid.community_code)) == 1


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(39.9, 116.4), (35.5, 111.0), (34.0, 112.85), (35.9, 112.85), (float("nan"), 112.85)],
)
def test_point_outside_the_city_resolves_to_none(
    ref: ReferenceData, lat: float, lon: float
) -> None:
    assert ref.territory.resolve_point(lat, lon) is None


# --- units ----------------------------------------------------------------------------


def test_units_are_found_by_kind_and_territory(ref: ReferenceData) -> None:
    t, u = ref.territory, ref.units
    path = t.path(t.grids[0].code)
    county_dept = u.find("urban_management", path.county_code)
    assert (
        county_dept is not None and county_dept.id == f"county-{path.county_code}-urban-management"
    )
    office = u.find("township_office", path.township_code)
    assert office is not None and office.id == f"township-{path.township_code}-office"
    committee = u.find("community_committee", path.community_code)
    assert committee is not None and committee.tier == "community"
    grid_unit = u.find("grid", path.grid_code)
    assert grid_unit is not None and grid_unit.parent_id == committee.id
    nearest = u.find_nearest("mediation_committee", path.codes_upward())
    assert nearest is not None and nearest.territory_code == path.community_code
    assert u.find("urban_management", "999999") is None
    platform = u.unit("city-platform")
    assert platform is not None and platform.parent_id is None
    assert len(u.all()) > len(t.grids)


def test_each_county_has_every_required_department(ref: ReferenceData) -> None:
    required = {
        "urban_management",
        "market_supervision",
        "public_security",
        "traffic_police",
        "human_resources",
        "labour_inspection",
        "housing_construction",
        "ecology_environment",
        "health",
        "emergency_management",
        "fire_rescue",
        "civil_affairs",
        "medical_insurance",
        "tax",
        "natural_resources",
        "agriculture",
        "transport",
        "education",
        "justice",
        "petitions",
        "procuratorate",
        "power_supply",
        "water_supply",
        "gas_supply",
        "heating_supply",
    }
    for county in ref.territory.counties:
        for kind in required:
            unit = ref.units.find(kind, county.code)
            assert unit is not None, (kind, county.code)
            assert ref.units.parent(unit.id) == ref.units.find(kind, ref.territory.city.code)
    for township in ref.territory.townships:
        for kind in ("township_office", "enforcement_team", "mediation_committee"):
            assert ref.units.find(kind, township.code) is not None


# --- matters --------------------------------------------------------------------------


def test_matter_catalog(ref: ReferenceData) -> None:
    c = ref.matters
    first = c.matter("CA-001")
    assert first is not None and first.category_code == "CA"
    assert c.matter("ZZ-999") is None
    for category in c.categories():
        matters = c.by_category(category.code)
        assert matters and all(m.category_code == category.code for m in matters)
    assert sum(len(c.by_category(k.code)) for k in c.categories()) == len(c.all())
    kinds = ref.units.kinds()
    for m in c.all():
        assert 4 <= len(m.keywords) <= 10
        assert m.department_kind in kinds
        assert c.by_service_code(m.service_code) == m
    limits = {(m.time_limit_class, m.resolve_limit.value, m.resolve_limit.unit) for m in c.all()}
    assert limits == {
        ("emergency", 2, "hours"),
        ("utility", 24, "hours"),
        ("general", 7, "working_days"),
        ("complex", 15, "working_days"),
    }
    assert any(m.enforcement for m in c.all()) and any(m.mediation for m in c.all())


# --- reproducibility ------------------------------------------------------------------


def test_same_seed_regenerates_the_committed_files_byte_for_byte(tmp_path: Path) -> None:
    seed = json.loads((DATA_DIR / "matters.json").read_bytes())["generated_with_seed"]
    generate(seed, tmp_path)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes(), name


def test_another_seed_gives_another_city(tmp_path: Path) -> None:
    generate(777, tmp_path)
    assert (tmp_path / "territory.json").read_bytes() != (DATA_DIR / "territory.json").read_bytes()
    # The catalog is curated, not random: only its header records the seed.
    other = json.loads((tmp_path / "matters.json").read_bytes())
    ours = json.loads((DATA_DIR / "matters.json").read_bytes())
    assert other["matters"] == ours["matters"]


# --- corrupted files ------------------------------------------------------------------


def _corrupt(tmp_path: Path, file: str, edit: Callable[[dict[str, Any]], None]) -> Path:
    for name in FILES:
        shutil.copy(DATA_DIR / name, tmp_path / name)
    doc = json.loads((tmp_path / file).read_bytes())
    edit(doc)
    (tmp_path / file).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return tmp_path


def _duplicate_grid(doc: dict[str, Any]) -> None:
    doc["grids"][5]["code"] = doc["grids"][4]["code"]


def _unknown_kind(doc: dict[str, Any]) -> None:
    doc["matters"][3]["department_kind"] = "ministry_of_magic"


def _short_grid_code(doc: dict[str, Any]) -> None:
    doc["grids"][7]["code"] = doc["grids"][7]["code"][:19]


def _overlapping_grid(doc: dict[str, Any]) -> None:
    a, b = doc["grids"][0], doc["grids"][1]
    # Grow grid 1 over grid 0 (same community): still inside the community, but overlapping.
    b["bbox"] = [
        min(a["bbox"][0], b["bbox"][0]),
        min(a["bbox"][1], b["bbox"][1]),
        max(a["bbox"][2], b["bbox"][2]),
        max(a["bbox"][3], b["bbox"][3]),
    ]
    b["centroid"] = [(b["bbox"][0] + b["bbox"][2]) / 2, (b["bbox"][1] + b["bbox"][3]) / 2]


def _unknown_territory(doc: dict[str, Any]) -> None:
    doc["units"][-1]["territory_code"] = "1" * 20


def _shared_keyword(doc: dict[str, Any]) -> None:
    doc["matters"][1]["keywords"][0] = doc["matters"][0]["keywords"][0]


def _unknown_version(doc: dict[str, Any]) -> None:
    doc["version"] = "1999.01.1"


def _no_version(doc: dict[str, Any]) -> None:
    del doc["version"]


def _dangling_parent(doc: dict[str, Any]) -> None:
    doc["units"][10]["parent_id"] = "no-such-unit"


@pytest.mark.parametrize(
    ("file", "edit", "expected"),
    [
        ("territory.json", _duplicate_grid, "duplicate grid code"),
        ("matters.json", _unknown_kind, "unknown department kind ministry_of_magic"),
        ("territory.json", _short_grid_code, "grids[7]"),
        ("territory.json", _overlapping_grid, "overlaps"),
        ("units.json", _unknown_territory, "unknown territory 11111111111111111111"),
        ("matters.json", _shared_keyword, "is also a keyword of"),
        ("units.json", _unknown_version, "unsupported version '1999.01.1'"),
        ("territory.json", _no_version, "missing version"),
        ("units.json", _dangling_parent, "unknown parent unit no-such-unit"),
    ],
)
def test_corrupted_file_raises_reference_data_error(
    tmp_path: Path, file: str, edit: Callable[[dict[str, Any]], None], expected: str
) -> None:
    directory = _corrupt(tmp_path, file, edit)
    with pytest.raises(ReferenceDataError) as info:
        load_reference(directory)
    assert info.value.file == file
    assert expected in str(info.value)


def test_missing_directory_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError, match=r"territory\.json: \(file\): not found"):
        load_territory(tmp_path / "nowhere")
