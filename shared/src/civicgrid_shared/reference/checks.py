"""Consistency checks that field-level validation cannot express.

Each check raises ReferenceDataError naming the file, the record and the reason at
the first problem found: a data file is fixed one error at a time, and the first is
usually the cause of the rest.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Protocol

from .catalog import MatterCatalog
from .errors import ReferenceDataError
from .models import Area, BBox, MatterCategory, Tier, Unit
from .territory import Territory
from .units import UnitRegistry

TERRITORY_FILE = "territory.json"
UNITS_FILE = "units.json"
MATTERS_FILE = "matters.json"

_TIER_RANK: dict[Tier, int] = {"grid": 0, "community": 1, "township": 2, "county": 3, "city": 4}
_CODE_LENGTH: dict[Tier, int] = {"city": 6, "county": 6, "township": 9, "community": 12, "grid": 20}


class _Coded(Protocol):
    @property
    def code(self) -> str: ...


def _fail(file: str, record: str, reason: str) -> ReferenceDataError:
    return ReferenceDataError(file, record, reason)


def _unique_codes(file: str, label: str, records: Iterable[_Coded]) -> None:
    seen: set[str] = set()
    for r in records:
        if r.code in seen:
            raise _fail(file, f"{label} {r.code}", f"duplicate {label} code")
        seen.add(r.code)


def _inside(inner: BBox, outer: BBox) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and inner[2] <= outer[2]
        and inner[3] <= outer[3]
    )


def _area(b: BBox) -> float:
    return (b[2] - b[0]) * (b[3] - b[1])


def _check_tiling(file: str, label: str, parent: Area, children: Sequence[Area]) -> None:
    """Children must nest in the parent, not overlap, and cover it completely."""
    if not children:
        raise _fail(file, f"{label} {parent.code}", "has no sub-areas")
    for child in children:
        if not _inside(child.bbox, parent.bbox):
            raise _fail(file, f"{label} {child.code}", f"bbox is not inside parent {parent.code}")
    # Sweep along longitude so only rectangles that can overlap are compared.
    ordered = sorted(children, key=lambda a: a.bbox[0])
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 :]:
            if b.bbox[0] >= a.bbox[2]:
                break
            if b.bbox[1] < a.bbox[3] and a.bbox[1] < b.bbox[3]:
                raise _fail(file, f"{label} {b.code}", f"bbox overlaps {a.code}")
    # Nested and disjoint, so equal total area means no gaps either.
    covered = math.fsum(_area(c.bbox) for c in children)
    if not math.isclose(covered, _area(parent.bbox), rel_tol=1e-9):
        raise _fail(file, f"{label} {parent.code}", "sub-areas leave gaps in its bbox")


def check_territory(t: Territory, file: str = TERRITORY_FILE) -> None:
    city = t.city
    _unique_codes(file, "county", t.counties)
    _unique_codes(file, "township", t.townships)
    _unique_codes(file, "community", t.communities)
    _unique_codes(file, "grid", t.grids)

    counties = {c.code: c for c in t.counties}
    townships = {c.code: c for c in t.townships}
    communities = {c.code: c for c in t.communities}
    for county in t.counties:
        if county.code[:4] != city.code[:4]:
            raise _fail(file, f"county {county.code}", f"code is not within city {city.code}")
    for township in t.townships:
        if township.county_code not in counties:
            raise _fail(file, f"township {township.code}", f"unknown county {township.county_code}")
        if township.code[:6] != township.county_code:
            raise _fail(file, f"township {township.code}", "code does not extend its county code")
    for community in t.communities:
        if community.township_code not in townships:
            raise _fail(
                file, f"community {community.code}", f"unknown township {community.township_code}"
            )
        if community.code[:9] != community.township_code:
            raise _fail(file, f"community {community.code}", "code does not extend its township")
    workers: set[str] = set()
    worker_codes: set[str] = set()
    for grid in t.grids:
        rec = f"grid {grid.code}"
        if grid.community_code not in communities:
            raise _fail(file, rec, f"unknown community {grid.community_code}")
        if grid.object_code != t.grid_object_code:
            raise _fail(file, rec, f"object code is not {t.grid_object_code}")
        if grid.code[6:18] != grid.community_code:
            raise _fail(file, rec, "county/street/community parts do not match its community")
        if grid.worker_id in workers or grid.worker_code in worker_codes:
            raise _fail(file, rec, f"grid worker {grid.worker_id} is assigned to another grid")
        workers.add(grid.worker_id)
        worker_codes.add(grid.worker_code)

    _check_names_unique(file, "county", [(city.code, c.name) for c in t.counties])
    _check_names_unique(file, "township", [(c.county_code, c.name) for c in t.townships])
    _check_names_unique(file, "community", [(c.township_code, c.name) for c in t.communities])

    by_parent: dict[str, list[Area]] = {code: [] for code in (*counties, *townships, *communities)}
    for township in t.townships:
        by_parent[township.county_code].append(township)
    for community in t.communities:
        by_parent[community.township_code].append(community)
    for grid in t.grids:
        by_parent[grid.community_code].append(grid)
    _check_tiling(file, "city", city, t.counties)
    for county in t.counties:
        _check_tiling(file, "county", county, by_parent[county.code])
    for township in t.townships:
        _check_tiling(file, "township", township, by_parent[township.code])
    for community in t.communities:
        _check_tiling(file, "community", community, by_parent[community.code])


def _check_names_unique(file: str, label: str, scoped: Iterable[tuple[str, str]]) -> None:
    """Names must be unique among siblings, or a dispatcher cannot tell them apart."""
    seen: set[tuple[str, str]] = set()
    for scope, name in scoped:
        if (scope, name) in seen:
            raise _fail(file, f"{label} {name}", f"name is used twice within {scope}")
        seen.add((scope, name))


def check_units(u: UnitRegistry, file: str = UNITS_FILE) -> None:
    by_id: dict[str, Unit] = {}
    for unit in u.units:
        if unit.id in by_id:
            raise _fail(file, f"unit {unit.id}", "duplicate unit id")
        by_id[unit.id] = unit
    serving: set[tuple[str, str]] = set()
    roots: list[Unit] = []
    for unit in u.units:
        rec = f"unit {unit.id}"
        if len(unit.territory_code) != _CODE_LENGTH[unit.tier]:
            raise _fail(
                file, rec, f"territory code {unit.territory_code} does not fit tier {unit.tier}"
            )
        key = (unit.kind, unit.territory_code)
        if key in serving:
            raise _fail(file, rec, f"a second {unit.kind} unit for territory {unit.territory_code}")
        serving.add(key)
        if unit.parent_id is None:
            roots.append(unit)
            continue
        parent = by_id.get(unit.parent_id)
        if parent is None:
            raise _fail(file, rec, f"unknown parent unit {unit.parent_id}")
        if _TIER_RANK[parent.tier] < _TIER_RANK[unit.tier]:
            raise _fail(file, rec, f"parent {parent.id} is at a lower tier ({parent.tier})")
    if len(roots) != 1 or roots[0].tier != "city":
        ids = ", ".join(r.id for r in roots) or "none"
        raise _fail(file, "units", f"expected one city-tier root unit, found: {ids}")
    # Parents never sit lower, so a cycle could only run within one tier: walk to be sure.
    for unit in u.units:
        steps = 0
        current = unit
        while current.parent_id is not None:
            current = by_id[current.parent_id]
            steps += 1
            if steps > len(by_id):
                raise _fail(file, f"unit {unit.id}", "parent chain is a cycle")


def check_matters(c: MatterCatalog, file: str = MATTERS_FILE) -> None:
    categories: dict[str, MatterCategory] = {}
    for cat in c.categories():
        if cat.code in categories:
            raise _fail(file, f"category {cat.code}", "duplicate category code")
        categories[cat.code] = cat
    codes: set[str] = set()
    service_codes: set[str] = set()
    keyword_owner: dict[str, str] = {}
    used_categories: set[str] = set()
    for m in c.all():
        rec = f"matter {m.code}"
        if m.code in codes:
            raise _fail(file, rec, "duplicate matter code")
        codes.add(m.code)
        if m.service_code in service_codes:
            raise _fail(file, rec, f"duplicate service code {m.service_code}")
        service_codes.add(m.service_code)
        category = categories.get(m.category_code)
        if category is None:
            raise _fail(file, rec, f"unknown category {m.category_code}")
        if (m.category_name, m.category_name_en) != (category.name, category.name_en):
            raise _fail(file, rec, f"category names differ from category {category.code}")
        if not m.code.startswith(m.category_code + "-"):
            raise _fail(file, rec, f"code does not start with its category {m.category_code}")
        used_categories.add(m.category_code)
        # Keywords drive free-text classification: one shared by two matters is ambiguous.
        for kw in m.keywords:
            owner = keyword_owner.get(kw)
            if owner is not None:
                raise _fail(file, rec, f"keyword {kw!r} is also a keyword of {owner}")
            keyword_owner[kw] = m.code
    for code in categories:
        if code not in used_categories:
            raise _fail(file, f"category {code}", "has no matters")


def check_cross(t: Territory, u: UnitRegistry, c: MatterCatalog) -> None:
    """Checks that need two files: units against territory, matters against units."""
    area_codes: dict[Tier, list[str]] = {
        "city": [t.city.code],
        "county": [a.code for a in t.counties],
        "township": [a.code for a in t.townships],
        "community": [a.code for a in t.communities],
        "grid": [a.code for a in t.grids],
    }
    kinds_at: dict[Tier, set[str]] = {tier: set() for tier in area_codes}
    for unit in u.all():
        tier = t.tier_of(unit.territory_code)
        if tier is None:
            raise _fail(UNITS_FILE, f"unit {unit.id}", f"unknown territory {unit.territory_code}")
        if tier != unit.tier:
            raise _fail(
                UNITS_FILE,
                f"unit {unit.id}",
                f"tier {unit.tier} but territory {unit.territory_code} is a {tier}",
            )
        kinds_at[tier].add(unit.kind)
    # A kind found at a tier must be found in every area of that tier, so routing by
    # (kind, territory) never comes up empty in one county while working in the next.
    for tier, codes in area_codes.items():
        for kind in sorted(kinds_at[tier]):
            for code in codes:
                if u.find(kind, code) is None:
                    raise _fail(UNITS_FILE, f"{tier} {code}", f"has no {kind} unit")
    all_kinds = u.kinds()
    for m in c.all():
        if m.department_kind not in all_kinds:
            raise _fail(
                MATTERS_FILE, f"matter {m.code}", f"unknown department kind {m.department_kind}"
            )
