"""Per-unit API keys for the workbench, stored as SHA-256 hashes.

The key file (versioned JSON, ``CIVICGRID_DISPATCH_API_KEYS_FILE``) maps the hex SHA-256
of each key to a unit id::

    {"version": "1", "keys": [{"sha256": "<64 hex>", "unit_id": "township-140502001-office"}]}

The city platform's operators use a key of the unit ``city-platform``. With dev keys on
(``CIVICGRID_DEV_UNIT_KEYS=1``, the default when ``CIVICGRID_ENV=local``), every unit of
the registry also has the key ``dev-<unit id>`` (e.g. ``dev-city-platform``): for local use
only, never in a deployment. Keys are never stored or logged in clear; the presented key
is hashed and compared in constant time.

    python -m civicgrid_dispatch.adapters.api_keys <key>   # prints the hash for the file
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
from collections.abc import Callable
from pathlib import Path

SUPPORTED_VERSIONS = frozenset({"1"})
DEV_PREFIX = "dev-"


class KeyFileError(ValueError):
    pass


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def load_key_file(path: Path) -> dict[str, str]:
    """hash → unit id, validated."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"{path}: cannot read the key file ({type(exc).__name__})") from None
    if not isinstance(doc, dict) or str(doc.get("version")) not in SUPPORTED_VERSIONS:
        raise KeyFileError(f"{path}: unsupported or missing version")
    entries = doc.get("keys", [])
    if not isinstance(entries, list):
        raise KeyFileError(f"{path}: keys must be a list")
    table: dict[str, str] = {}
    for i, entry in enumerate(entries):
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        unit = entry.get("unit_id") if isinstance(entry, dict) else None
        if not isinstance(digest, str) or len(digest) != 64 or not isinstance(unit, str):
            raise KeyFileError(f"{path}: keys[{i}] needs sha256 (64 hex) and unit_id")
        table[digest.lower()] = unit
    return table


class ApiKeys:
    """Who a presented key belongs to (a unit id), or None."""

    def __init__(self, hashed: dict[str, str], unit_exists: Callable[[str], bool],
                 dev_keys: bool = False) -> None:
        self._hashed = dict(hashed)
        self._unit_exists = unit_exists
        self._dev = dev_keys

    def unit_for(self, key: str | None) -> str | None:
        if not key:
            return None
        digest = key_hash(key)
        # Looked up by the key's hash: what a timing difference could reveal is about the
        # hash, which tells nothing about the key.
        unit = self._hashed.get(digest)
        if unit is not None:
            return unit
        if self._dev and key.startswith(DEV_PREFIX):
            candidate = key[len(DEV_PREFIX):]
            if self._unit_exists(candidate) and hmac.compare_digest(
                    digest, key_hash(DEV_PREFIX + candidate)):
                return candidate
        return None


if __name__ == "__main__":  # pragma: no cover - a tiny operator tool
    for arg in sys.argv[1:]:
        print(key_hash(arg))
