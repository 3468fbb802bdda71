"""Channel API keys from versioned JSON files (SHA-256 digests only), validated on load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from civicgrid_shared.contracts.events import Channel
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from civicgrid_intake.domain.access import ApiKey, Scope, hash_key

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
PRODUCTION_KEYS = DATA_DIR / "api_keys.json"
DEV_KEYS = DATA_DIR / "dev_api_keys.json"
SUPPORTED_VERSIONS = frozenset({"1"})


class KeyFileError(ValueError):
    """A keys file that does not validate (names the file and the field, never a key)."""


class _KeyRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key_id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    channels: list[Channel]
    scopes: list[Scope] = Field(min_length=1)
    rate_per_s: float = Field(gt=0)
    burst: int = Field(ge=1)


class _KeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    notes: str = ""
    keys: list[_KeyRecord]


def load_keys(path: str | Path) -> list[ApiKey]:
    path = Path(path)
    try:
        raw = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"{path.name}: unreadable ({type(exc).__name__})") from None
    if not isinstance(raw, dict) or raw.get("version") not in SUPPORTED_VERSIONS:
        raise KeyFileError(f"{path.name}: unsupported or missing version")
    try:
        doc = _KeyFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise KeyFileError(f"{path.name}: {where}: {first['msg']}") from None
    ids = [k.key_id for k in doc.keys]
    if len(set(ids)) != len(ids):
        raise KeyFileError(f"{path.name}: key_id repeated")
    return [ApiKey(k.key_id, k.sha256, frozenset(k.channels), frozenset(k.scopes),
                   k.rate_per_s, k.burst) for k in doc.keys]


class KeyRing:
    """Look-up of a presented key by its digest."""

    def __init__(self, keys: list[ApiKey]) -> None:
        self._by_hash = {k.sha256: k for k in keys}

    def __len__(self) -> int:
        return len(self._by_hash)

    def find(self, raw: str) -> ApiKey | None:
        return self._by_hash.get(hash_key(raw))


def key_ring(keys_file: str | Path | None, dev_keys: bool) -> KeyRing:
    keys = load_keys(keys_file or PRODUCTION_KEYS)
    if dev_keys:
        keys += load_keys(DEV_KEYS)
    return KeyRing(keys)
