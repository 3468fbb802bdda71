"""Who is calling: an API key per unit (X-Api-Key), compared by its SHA-256 hash.

Keys are configured as unit id -> SHA-256 hex of the key (CIVICGRID_ENFORCEMENT_API_KEYS,
a JSON object), so the service never holds a key in clear. In development
(CIVICGRID_DEV_UNIT_KEYS=1) every enforcement team and department unit also has the
key "dev-<unit id>". A presented key is hashed, looked up by its digest and confirmed
with a constant-time comparison; the key itself is never logged or echoed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated

from fastapi import Header, HTTPException

from civicgrid_enforcement.adapters.reference import TEAM_KIND, UnitInfo

API_KEY_HEADER = "X-Api-Key"
_NO_MATCH = b"\0" * 32


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


class UnitKeys:
    def __init__(self, units: Mapping[str, UnitInfo], key_hashes: Mapping[str, str],
                 dev_keys: bool = False) -> None:
        self._units = units
        self._by_digest: dict[bytes, tuple[bytes, str]] = {}
        for unit_id, hex_hash in key_hashes.items():
            if unit_id not in units:
                raise ValueError("an API key is configured for an unknown unit id")
            stored = bytes.fromhex(hex_hash)
            self._by_digest[stored] = (stored, unit_id)
        if dev_keys:
            for unit_id in units:
                stored = _digest(f"dev-{unit_id}")
                self._by_digest.setdefault(stored, (stored, unit_id))

    def identify(self, presented: str | None) -> UnitInfo | None:
        if not presented or len(presented) > 256:
            return None
        digest = _digest(presented)
        # The look-up is keyed by a hash of the key, so its timing reveals nothing useful
        # about the key; the match is then confirmed with a constant-time comparison.
        stored, unit_id = self._by_digest.get(digest, (_NO_MATCH, ""))
        if not hmac.compare_digest(stored, digest):
            return None
        return self._units[unit_id]


Principal = Callable[..., Awaitable[UnitInfo]]


def requires_unit(keys: UnitKeys, kind: str | None = TEAM_KIND) -> Principal:
    """A dependency: the calling unit, of ``kind`` (None: any department or team)."""

    async def principal(
        x_api_key: Annotated[str | None, Header(alias=API_KEY_HEADER)] = None,
    ) -> UnitInfo:
        unit = keys.identify(x_api_key)
        if unit is None:
            raise HTTPException(401, "missing or unknown X-Api-Key",
                                headers={"WWW-Authenticate": "ApiKey"})
        if kind is not None and unit.kind != kind:
            raise HTTPException(403, f"only a unit of kind {kind} may do this")
        return unit

    return principal
