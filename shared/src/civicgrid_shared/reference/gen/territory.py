"""Build the fictional city of Jinchuan (晋川市): counties down to grids."""

from __future__ import annotations

import math
import random
from typing import Any

from .names import NameMaker
from .partition import BBox, allocate, centroid, split_rect

CITY_CODE = "140500"
CITY_NAME = "晋川市"
# About 108 km x 89 km around (35.5 N, 112.85 E), roughly the size of a real
# prefecture-level city in south-east Shanxi.
CITY_BBOX: BBox = (112.25, 35.1, 113.45, 35.9)
# CJ/T 349's leading object code; the city code identifies whose grid system it is.
GRID_OBJECT_CODE = CITY_CODE

# (code suffix, kind): GB/T 2260 puts districts at 01-20, counties at 21-80 and
# county-level cities at 81-99.
COUNTY_PLAN: tuple[tuple[str, str], ...] = (
    ("02", "district"),
    ("03", "district"),
    ("04", "district"),
    ("21", "county"),
    ("22", "county"),
    ("24", "county"),
    ("25", "county"),
    ("26", "county"),
    ("81", "county_city"),
    ("82", "county_city"),
)
TOTAL_TOWNSHIPS = 120
TOTAL_COMMUNITIES = 1500
TOTAL_GRIDS = 4601  # Jincheng's figure in the seeds

# Relative land area per kind: urban areas are small and dense.
COUNTY_AREA = {"district": 0.35, "county": 1.4, "county_city": 1.2}
TOWNSHIP_AREA = {"street": 0.12, "town": 1.0, "township": 1.3}
COMMUNITY_AREA = {"community": 0.15, "village": 1.0}
# Relative number of sub-units per kind.
TOWNSHIP_SHARE = {"district": 1.0, "county": 1.2, "county_city": 1.3}
COMMUNITY_SHARE = {"street": 9.0, "town": 14.0, "township": 12.0}
GRID_SHARE = {"street": 6.5, "town": 4.0, "township": 3.0, "village": 1.6}

GRID_TYPES: dict[str, dict[str, int]] = {
    "street": {"new_build": 30, "old_neighbourhood": 35, "work_unit": 15, "urban_village": 20},
    "town": {
        "new_build": 25,
        "old_neighbourhood": 20,
        "work_unit": 10,
        "urban_village": 25,
        "suburban": 20,
    },
    "township": {"new_build": 20, "old_neighbourhood": 30, "suburban": 50},
    "near_village": {"urban_village": 35, "suburban": 65},
    "far_village": {"suburban": 100},
}
WORKER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def _area(code: str, name: str, bbox: BBox, **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": name,
        **extra,
        "bbox": list(bbox),
        "centroid": list(centroid(bbox)),
    }


def _jitter(rng: random.Random, lo: float = 0.75, hi: float = 1.25) -> float:
    return round(rng.uniform(lo, hi), 4)


def _township_kinds(rng: random.Random, county_kind: str, n: int) -> list[str]:
    """Streets first (the county seat), then towns, then rural townships."""
    if county_kind == "district":
        streets = max(1, min(n, round(n * 0.75) + rng.randint(-1, 1)))
        towns, townships = n - streets, 0
    else:
        streets = min(n - 1, (4 if county_kind == "county_city" else 2) + rng.randint(0, 1))
        towns = round((n - streets) * (0.5 if county_kind == "county_city" else 0.45))
        townships = n - streets - towns
    return ["street"] * streets + ["town"] * towns + ["township"] * townships


def _community_kinds(rng: random.Random, township_kind: str, n: int) -> list[str]:
    if township_kind == "street":
        return ["community"] * n
    urban = rng.randint(1, 3) if township_kind == "town" else rng.randint(0, 1)
    urban = min(urban, n - 1)
    return ["community"] * urban + ["village"] * (n - urban)


def _grid_type_table(county_kind: str, township_kind: str, community_kind: str) -> str:
    if community_kind == "community":
        return township_kind
    return "near_village" if county_kind != "county" else "far_village"


def _pick(rng: random.Random, table: dict[str, int]) -> str:
    kinds = list(table)
    return rng.choices(kinds, weights=[table[k] for k in kinds])[0]


def build_territory(seed: int) -> dict[str, Any]:
    # One RNG per concern, derived from the seed, so adding draws to one (say, names)
    # does not reshuffle all the others.
    rng_counts = random.Random(f"{seed}/counts")
    rng_geo = random.Random(f"{seed}/geometry")
    rng_types = random.Random(f"{seed}/grid-types")
    rng_workers = random.Random(f"{seed}/workers")
    names = NameMaker(random.Random(f"{seed}/names"), reserved={CITY_NAME[:2]})
    lon_scale = math.cos(math.radians((CITY_BBOX[1] + CITY_BBOX[3]) / 2))

    # Counts first, top-down, with exact totals.
    county_kinds = [kind for _, kind in COUNTY_PLAN]
    n_townships = allocate(
        TOTAL_TOWNSHIPS, [TOWNSHIP_SHARE[k] * _jitter(rng_counts) for k in county_kinds], 6, 30
    )
    township_kinds = [
        _township_kinds(rng_counts, ck, n) for ck, n in zip(county_kinds, n_townships, strict=True)
    ]
    flat_township_kinds = [k for ks in township_kinds for k in ks]
    n_communities = allocate(
        TOTAL_COMMUNITIES,
        [COMMUNITY_SHARE[k] * _jitter(rng_counts) for k in flat_township_kinds],
        3,
        150,
    )
    community_kinds = [
        _community_kinds(rng_counts, tk, n)
        for tk, n in zip(flat_township_kinds, n_communities, strict=True)
    ]
    grid_weights = [
        GRID_SHARE["village" if ck == "village" else tk] * _jitter(rng_counts)
        for tk, cks in zip(flat_township_kinds, community_kinds, strict=True)
        for ck in cks
    ]
    n_grids = allocate(TOTAL_GRIDS, grid_weights, 1, 40)

    counties: list[dict[str, Any]] = []
    townships: list[dict[str, Any]] = []
    communities: list[dict[str, Any]] = []
    grids: list[dict[str, Any]] = []
    worker_codes: set[str] = set()

    county_boxes = split_rect(
        CITY_BBOX, [COUNTY_AREA[k] * _jitter(rng_geo) for k in county_kinds], lon_scale
    )
    t_i = c_i = 0  # running positions in the flat township / community lists
    for (suffix, county_kind), county_box, t_kinds in zip(
        COUNTY_PLAN, county_boxes, township_kinds, strict=True
    ):
        county_code = CITY_CODE[:4] + suffix
        counties.append(_area(county_code, names.county(county_kind), county_box, kind=county_kind))
        t_boxes = split_rect(
            county_box, [TOWNSHIP_AREA[k] * _jitter(rng_geo) for k in t_kinds], lon_scale
        )
        # GB/T 10114 numbering: streets 001-, towns 100-, townships 200-.
        next_number = {"street": 1, "town": 100, "township": 200}
        for township_kind, t_box in zip(t_kinds, t_boxes, strict=True):
            township_code = f"{county_code}{next_number[township_kind]:03d}"
            next_number[township_kind] += 1
            townships.append(
                _area(
                    township_code,
                    names.township(county_code, township_kind),
                    t_box,
                    kind=township_kind,
                    county_code=county_code,
                )
            )
            c_kinds = community_kinds[t_i]
            t_i += 1
            c_boxes = split_rect(
                t_box, [COMMUNITY_AREA[k] * _jitter(rng_geo) for k in c_kinds], lon_scale
            )
            # Residents' committees 001-199, village committees 200-399.
            next_c = {"community": 1, "village": 200}
            for community_kind, c_box in zip(c_kinds, c_boxes, strict=True):
                community_code = f"{township_code}{next_c[community_kind]:03d}"
                next_c[community_kind] += 1
                community_name = names.community(county_code, community_kind)
                communities.append(
                    _area(
                        community_code,
                        community_name,
                        c_box,
                        kind=community_kind,
                        township_code=township_code,
                    )
                )
                n = n_grids[c_i]
                c_i += 1
                g_boxes = split_rect(c_box, [_jitter(rng_geo) for _ in range(n)], lon_scale)
                table = GRID_TYPES[_grid_type_table(county_kind, township_kind, community_kind)]
                for g, g_box in enumerate(g_boxes, start=1):
                    grid_code = f"{GRID_OBJECT_CODE}{community_code}{g:02d}"
                    while True:
                        worker_code = "W" + "".join(rng_workers.choices(WORKER_ALPHABET, k=7))
                        if worker_code not in worker_codes:
                            break
                    worker_codes.add(worker_code)
                    grids.append(
                        _area(
                            grid_code,
                            f"{community_name}第{g:02d}网格",
                            g_box,
                            grid_type=_pick(rng_types, table),
                            community_code=community_code,
                            worker_id=f"gw-{len(grids) + 1:05d}",
                            worker_code=worker_code,
                        )
                    )

    return {
        "grid_object_code": GRID_OBJECT_CODE,
        "city": _area(CITY_CODE, CITY_NAME, CITY_BBOX),
        "counties": counties,
        "townships": townships,
        "communities": communities,
        "grids": grids,
    }
