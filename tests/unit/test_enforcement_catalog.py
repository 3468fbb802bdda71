"""The enforcement catalog file and its validating loader."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from civicgrid_enforcement.reference.catalog import (
    DATA_DIR,
    CatalogError,
    Severity,
    load_catalog,
    parse_catalog,
)
from civicgrid_shared.reference.loader import load_units

RAW: dict[str, Any] = json.loads((DATA_DIR / "catalog.json").read_text())


def test_catalog_has_at_least_forty_violations_across_the_required_areas() -> None:
    c = load_catalog()
    assert len(c.violations) >= 40
    assert {"street_vending", "construction", "advertising", "unlicensed", "noise",
            "appearance", "labour", "food_safety", "work_safety", "environment"} <= {
        v.category for v in c.violations}
    for v in c.violations:
        assert v.legal_basis.startswith("《")
        assert set(v.benchmarks) == set(Severity)


def test_every_department_is_a_unit_kind_of_the_registry() -> None:
    load_catalog().check_department_kinds(load_units().kinds())


def test_some_powers_are_delegated_to_townships_and_some_are_not() -> None:
    flags = {v.township_may_enforce for v in load_catalog().violations}
    assert flags == {True, False}


def test_matter_codes_map_to_violations() -> None:
    v = load_catalog().for_matter("EF-001")
    assert v is not None and v.code == "SV-001"


def broken(path: list[Any], value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(RAW)
    node = raw
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return raw


@pytest.mark.parametrize(("path", "value", "reason"), [
    (["version"], "enforcement-catalog.1999.1", "unsupported version"),
    (["violations", 0, "benchmarks", "general", "fine_individual"], [300, 100], "inverted"),
    (["violations", 0, "benchmarks", "general", "measures"], ["flogging"], "measures"),
    (["violations", 0, "category"], "astrology", "unknown category"),
    (["violations", 1, "code"], "SV-001", "appears twice"),
    (["violations", 0, "unexpected"], 1, "unexpected"),
    (["violations", 0, "benchmarks"], {"minor": RAW["violations"][0]["benchmarks"]["minor"]},
     "lack tiers"),
])
def test_invalid_catalog_is_refused_naming_the_record(path: list[Any], value: Any,
                                                      reason: str) -> None:
    with pytest.raises(CatalogError) as info:
        parse_catalog(broken(path, value))
    assert reason in str(info.value)
