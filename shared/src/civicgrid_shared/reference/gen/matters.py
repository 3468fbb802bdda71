"""Build the matter catalog document from the curated specs."""

from __future__ import annotations

from typing import Any

from .matter_specs import CATEGORIES, MatterSpec

# Defaults from domain.md (Beijing 12345 figures, configurable here):
# class -> (sign-for hours, resolve limit, limit unit, priority)
LIMIT_CLASSES: dict[str, tuple[float, int, str, str]] = {
    "emergency": (0.5, 2, "hours", "emergency"),
    "utility": (1.0, 24, "hours", "urgent"),
    "general": (2.0, 7, "working_days", "normal"),
    "complex": (2.0, 15, "working_days", "normal"),
}


def _matter(
    code: str, cat_code: str, cat_name: str, cat_name_en: str, s: MatterSpec
) -> dict[str, Any]:
    sign_for, limit, unit, priority = LIMIT_CLASSES[s.limit_class]
    return {
        "code": code,
        "name": s.name,
        "name_en": s.name_en,
        "category_code": cat_code,
        "category_name": cat_name,
        "category_name_en": cat_name_en,
        "nature": s.nature,
        "department_kind": s.department_kind,
        "expected_tier": s.tier,
        "time_limit_class": s.limit_class,
        "sign_for_hours": sign_for,
        "resolve_limit": {"value": limit, "unit": unit},
        "priority": s.priority or priority,
        "enforcement": s.enforcement,
        "mediation": s.mediation,
        "legal_basis": s.legal_basis,
        "keywords": list(s.keywords),
        "duplicate_radius_m": s.duplicate_radius_m,
        "duplicate_window_hours": s.duplicate_window_hours,
        # Open311 GeoReport v2: the matter code doubles as service_code.
        "service_code": code,
        "service_group": cat_name,
    }


def build_matters() -> dict[str, Any]:
    categories = [{"code": c.code, "name": c.name, "name_en": c.name_en} for c in CATEGORIES]
    matters = [
        _matter(f"{c.code}-{i:03d}", c.code, c.name, c.name_en, spec)
        for c in CATEGORIES
        for i, spec in enumerate(c.matters, start=1)
    ]
    return {"categories": categories, "matters": matters}
