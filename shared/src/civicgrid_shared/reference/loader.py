"""Read, validate and cache the reference data files."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .catalog import MatterCatalog
from .checks import (
    MATTERS_FILE,
    TERRITORY_FILE,
    UNITS_FILE,
    check_cross,
    check_matters,
    check_territory,
    check_units,
)
from .errors import ReferenceDataError
from .models import FrozenModel
from .territory import Territory
from .units import UnitRegistry
from .versions import SUPPORTED_VERSIONS

DATA_DIR = Path(__file__).parent / "data"

M = TypeVar("M", bound=BaseModel)


class ReferenceData(FrozenModel):
    """All three files, checked against each other."""

    territory: Territory
    units: UnitRegistry
    matters: MatterCatalog


def _directory(directory: str | Path | None) -> Path:
    # Normalised so that "data", "./data" and Path("data") share one cache entry.
    return (Path(directory) if directory is not None else DATA_DIR).resolve()


def _record_label(raw: Any, loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic error location into 'grids[12] (code=...)' using the raw data."""
    label = ""
    node = raw
    for part in loc:
        if isinstance(part, int):
            label += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict):
                ident = node.get("code", node.get("id"))
                if ident is not None:
                    label += f" ({ident})"
                return label
        else:
            label += f".{part}" if label else part
            node = node.get(part) if isinstance(node, dict) else None
    return label or "(file)"


def _read(path: Path, model: type[M]) -> M:
    file = path.name
    try:
        raw = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise ReferenceDataError(file, "(file)", f"not found at {path}") from None
    except (OSError, ValueError) as exc:
        raise ReferenceDataError(file, "(file)", f"unreadable: {exc}") from None
    if not isinstance(raw, dict):
        raise ReferenceDataError(file, "(file)", "top level is not a JSON object")
    version = raw.get("version")
    if version is None:
        raise ReferenceDataError(file, "(header)", "missing version")
    if version not in SUPPORTED_VERSIONS:
        supported = ", ".join(sorted(SUPPORTED_VERSIONS))
        raise ReferenceDataError(
            file, "(header)", f"unsupported version {version!r} (supported: {supported})"
        )
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        # Report the field path below the record, and the record itself by its id.
        record = _record_label(raw, loc)
        field = ".".join(str(p) for p in loc)
        raise ReferenceDataError(file, record, f"{field}: {first['msg']}") from None


def load_territory(directory: str | Path | None = None) -> Territory:
    """territory.json from `directory` (default: the packaged data), validated, cached."""
    return _load_territory(_directory(directory))


def load_units(directory: str | Path | None = None) -> UnitRegistry:
    """units.json, validated on its own (the territory check is in load_reference)."""
    return _load_units(_directory(directory))


def load_matters(directory: str | Path | None = None) -> MatterCatalog:
    """matters.json, validated on its own (the unit-kind check is in load_reference)."""
    return _load_matters(_directory(directory))


def load_reference(directory: str | Path | None = None) -> ReferenceData:
    """All three files, each validated and then checked against the others."""
    return _load_reference(_directory(directory))


def clear_cache() -> None:
    """Forget loaded data (for tests that rewrite files in place)."""
    for f in (_load_territory, _load_units, _load_matters, _load_reference):
        f.cache_clear()


def _read_territory(directory: Path) -> Territory:
    t = _read(directory / TERRITORY_FILE, Territory)
    check_territory(t)
    t.build_indexes()
    return t


def _read_units(directory: Path) -> UnitRegistry:
    u = _read(directory / UNITS_FILE, UnitRegistry)
    check_units(u)
    u.build_indexes()
    return u


def _read_matters(directory: Path) -> MatterCatalog:
    c = _read(directory / MATTERS_FILE, MatterCatalog)
    check_matters(c)
    c.build_indexes()
    return c


def read_reference_uncached(directory: str | Path) -> ReferenceData:
    """Full load and check, bypassing the cache (the generator verifies its output so)."""
    d = _directory(directory)
    return _combine(_read_territory(d), _read_units(d), _read_matters(d))


def _combine(t: Territory, u: UnitRegistry, c: MatterCatalog) -> ReferenceData:
    check_cross(t, u, c)
    return ReferenceData(territory=t, units=u, matters=c)


_load_territory = functools.cache(_read_territory)
_load_units = functools.cache(_read_units)
_load_matters = functools.cache(_read_matters)


@functools.cache
def _load_reference(directory: Path) -> ReferenceData:
    return _combine(_load_territory(directory), _load_units(directory), _load_matters(directory))
