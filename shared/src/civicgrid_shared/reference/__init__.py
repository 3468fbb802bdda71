"""Reference data: territory and grids, handling units, the matter catalog.

The data lives in versioned JSON files under data/ (written by `generate`); the
loaders validate them and build the look-up indexes once per process.
"""

from __future__ import annotations

from .catalog import MatterCatalog
from .errors import ReferenceDataError
from .loader import (
    DATA_DIR,
    ReferenceData,
    clear_cache,
    load_matters,
    load_reference,
    load_territory,
    load_units,
)
from .models import (
    City,
    Community,
    County,
    Grid,
    Matter,
    MatterCategory,
    TerritoryPath,
    TimeLimit,
    Township,
    Unit,
)
from .territory import Territory
from .units import UnitRegistry
from .versions import CURRENT_VERSION, SUPPORTED_VERSIONS

__all__ = [
    "CURRENT_VERSION",
    "DATA_DIR",
    "SUPPORTED_VERSIONS",
    "City",
    "Community",
    "County",
    "Grid",
    "Matter",
    "MatterCatalog",
    "MatterCategory",
    "ReferenceData",
    "ReferenceDataError",
    "Territory",
    "TerritoryPath",
    "TimeLimit",
    "Township",
    "Unit",
    "UnitRegistry",
    "clear_cache",
    "load_matters",
    "load_reference",
    "load_territory",
    "load_units",
]
