"""Dispatch's view of the reference data: routing rules per matter, units by territory."""

from __future__ import annotations

from civicgrid_shared.reference.catalog import MatterCatalog
from civicgrid_shared.reference.loader import load_matters, load_units
from civicgrid_shared.reference.models import Matter
from civicgrid_shared.reference.units import UnitRegistry

from civicgrid_dispatch.domain.routing import CITY_PLATFORM_KIND, MatterRule

# An appeal no one could classify goes to the city platform's manual queue.
UNCLASSIFIED = MatterRule(
    code="UNCLASSIFIED", category_code="ZZ", nature="event", department_kind=CITY_PLATFORM_KIND,
    expected_tier="city", priority="normal", sign_for_hours=24, resolve_amount=7,
    resolve_unit="working_days",
)


def _rule(m: Matter) -> MatterRule:
    return MatterRule(
        code=m.code, category_code=m.category_code, nature=m.nature,
        department_kind=m.department_kind, expected_tier=m.expected_tier,
        priority=m.priority, sign_for_hours=m.sign_for_hours,
        resolve_amount=m.resolve_limit.value, resolve_unit=m.resolve_limit.unit,
        enforcement=m.enforcement, mediation=m.mediation,
    )


# Unpaid-wage matters are found in the catalog by these words in their name or keywords.
WAGE_WORDS = ("欠薪", "讨薪", "工资")


class ReferenceMatters:
    def __init__(self, catalog: MatterCatalog | None = None) -> None:
        matters = (catalog or load_matters()).all()
        self._rules = {m.code: _rule(m) for m in matters}
        self._wage_codes = frozenset(
            m.code for m in matters
            if any(w in m.name or any(w in k for k in m.keywords) for w in WAGE_WORDS)
        )

    def rule(self, code: str) -> MatterRule | None:
        return self._rules.get(code)

    def unclassified(self) -> MatterRule:
        return UNCLASSIFIED

    def is_unpaid_wages(self, code: str) -> bool:
        return code in self._wage_codes


class ReferenceUnits:
    def __init__(self, registry: UnitRegistry | None = None) -> None:
        self._units = registry or load_units()
        platform = self._units.by_kind(CITY_PLATFORM_KIND)
        self.city_platform = platform[0].id if platform else "city-platform"

    def find(self, kind: str, territory_code: str) -> str | None:
        unit = self._units.find(kind, territory_code)
        return unit.id if unit is not None else None

    def exists(self, unit_id: str) -> bool:
        return self._units.unit(unit_id) is not None

    def tier(self, unit_id: str) -> str | None:
        unit = self._units.unit(unit_id)
        return unit.tier if unit is not None else None

    def kind(self, unit_id: str) -> str | None:
        unit = self._units.unit(unit_id)
        return unit.kind if unit is not None else None

    def parent(self, unit_id: str) -> tuple[str, str] | None:
        """The unit a case escalates to from this one, and its tier (None at the top)."""
        parent = self._units.parent(unit_id)
        return (parent.id, parent.tier) if parent is not None else None
