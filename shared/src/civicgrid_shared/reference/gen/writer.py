"""Deterministic JSON layout: header fields first, then one record per line."""

from __future__ import annotations

import json
from typing import Any


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def dumps_reference(doc: dict[str, Any]) -> bytes:
    """Serialise a reference document.

    One record per line keeps the files diffable in review and small on disk;
    key order is the builders' insertion order, so equal input gives equal bytes.
    """
    parts = []
    for key, value in doc.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            body = ",\n".join("  " + _compact(v) for v in value)
            parts.append(f" {_compact(key)}: [\n{body}\n ]")
        else:
            parts.append(f" {_compact(key)}: {_compact(value)}")
    return ("{\n" + ",\n".join(parts) + "\n}\n").encode("utf-8")
