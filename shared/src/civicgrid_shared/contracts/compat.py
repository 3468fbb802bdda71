"""Schema compatibility: can a consumer written against ``old`` still read ``new``?

Breaking: removing a field, changing its type, making a required field optional
(it may then be missing), or changing a nested structure the same ways. Adding
fields is fine: consumers ignore what they do not know.
"""

from __future__ import annotations

from typing import Any

_COSMETIC = {"title", "description", "default", "examples"}


def _deref(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str):
        return dict(defs.get(ref.split("/")[-1], {}))
    return node


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Reasons a consumer of ``old`` would break on ``new`` (empty: compatible)."""
    return _compare(old, new, old.get("$defs", {}), new.get("$defs", {}), "")


def _compare(old: dict[str, Any], new: dict[str, Any], old_defs: dict[str, Any],
             new_defs: dict[str, Any], path: str) -> list[str]:
    old, new = _deref(old, old_defs), _deref(new, new_defs)
    if "properties" in old:
        problems = []
        new_props = new.get("properties", {})
        for name, prop in old["properties"].items():
            where = f"{path}.{name}" if path else name
            if name not in new_props:
                problems.append(f"{where}: removed")
                continue
            problems += _compare(prop, new_props[name], old_defs, new_defs, where)
        for name in set(old.get("required", [])) - set(new.get("required", [])):
            problems.append(f"{path + '.' if path else ''}{name}: no longer required")
        return problems
    if "anyOf" in old:
        if "anyOf" not in new or len(old["anyOf"]) != len(new["anyOf"]):
            return [f"{path}: type changed"]
        out: list[str] = []
        for o, n in zip(old["anyOf"], new["anyOf"], strict=True):
            out += _compare(o, n, old_defs, new_defs, path)
        return out
    strip_old = {k: v for k, v in old.items() if k not in _COSMETIC}
    strip_new = {k: v for k, v in new.items() if k not in _COSMETIC}
    if strip_old.get("type") == "array" and strip_new.get("type") == "array":
        return _compare(old.get("items", {}), new.get("items", {}), old_defs, new_defs,
                        path + "[]")
    if "enum" in strip_old and "enum" in strip_new:
        removed = set(strip_old["enum"]) - set(strip_new["enum"])
        return [f"{path}: enum values removed {sorted(removed)}"] if removed else []
    if strip_old != strip_new:
        return [f"{path}: type changed"]
    return []
