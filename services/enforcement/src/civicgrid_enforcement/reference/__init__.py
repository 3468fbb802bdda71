"""Enforcement's own reference data: the enforcement catalog (执法事项清单) with its
discretion benchmarks (裁量权基准), a versioned JSON file validated on load."""

from civicgrid_enforcement.reference.catalog import (
    CATALOG_FILE,
    SUPPORTED_VERSIONS,
    Benchmark,
    CatalogError,
    EnforcementCatalog,
    MajorCriteria,
    Measure,
    Severity,
    Violation,
    load_catalog,
)

__all__ = [
    "CATALOG_FILE",
    "SUPPORTED_VERSIONS",
    "Benchmark",
    "CatalogError",
    "EnforcementCatalog",
    "MajorCriteria",
    "Measure",
    "Severity",
    "Violation",
    "load_catalog",
]
