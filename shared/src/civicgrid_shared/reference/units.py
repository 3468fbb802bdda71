"""The unit registry aggregate: every handling unit and how to find the right one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from .models import FileHeader, Unit


@dataclass(frozen=True, slots=True)
class _UnitIndex:
    by_id: dict[str, Unit]
    by_kind_and_territory: dict[tuple[str, str], Unit]
    by_kind: dict[str, tuple[Unit, ...]]
    children: dict[str, tuple[Unit, ...]]

    @classmethod
    def build(cls, units: tuple[Unit, ...]) -> _UnitIndex:
        by_kind: defaultdict[str, list[Unit]] = defaultdict(list)
        children: defaultdict[str, list[Unit]] = defaultdict(list)
        for u in units:
            by_kind[u.kind].append(u)
            if u.parent_id is not None:
                children[u.parent_id].append(u)
        return cls(
            by_id={u.id: u for u in units},
            by_kind_and_territory={(u.kind, u.territory_code): u for u in units},
            by_kind={k: tuple(v) for k, v in by_kind.items()},
            children={k: tuple(v) for k, v in children.items()},
        )


class UnitRegistry(FileHeader):
    """The contents of units.json."""

    units: tuple[Unit, ...]

    def build_indexes(self) -> None:
        _ = self._idx  # computed once here, then cached on the instance

    # cached_property, not a pydantic PrivateAttr: private attribute reads go through
    # BaseModel.__getattr__ (microseconds), too slow for per-request look-ups.
    @cached_property
    def _idx(self) -> _UnitIndex:
        return _UnitIndex.build(self.units)

    def all(self) -> tuple[Unit, ...]:
        return self.units

    def unit(self, unit_id: str) -> Unit | None:
        return self._idx.by_id.get(unit_id)

    def find(self, kind: str, territory_code: str) -> Unit | None:
        """The unit of this kind serving exactly this territory code.

        e.g. ("urban_management", county code), ("township_office", township code),
        ("community_committee", community code), ("grid", grid code).
        """
        return self._idx.by_kind_and_territory.get((kind, territory_code))

    def find_nearest(self, kind: str, territory_codes: Iterable[str]) -> Unit | None:
        """The first unit of this kind along the codes given, lowest tier first.

        Pass TerritoryPath.codes_upward() to find e.g. the mediation committee of a
        grid's community, else of its township.
        """
        index = self._idx.by_kind_and_territory
        for code in territory_codes:
            found = index.get((kind, code))
            if found is not None:
                return found
        return None

    def by_kind(self, kind: str) -> tuple[Unit, ...]:
        return self._idx.by_kind.get(kind, ())

    def kinds(self) -> frozenset[str]:
        return frozenset(self._idx.by_kind)

    def children(self, unit_id: str) -> tuple[Unit, ...]:
        """Units whose escalation target (parent) is this unit."""
        return self._idx.children.get(unit_id, ())

    def parent(self, unit_id: str) -> Unit | None:
        """The unit a case escalates to from this one (None at the top)."""
        idx = self._idx
        unit = idx.by_id.get(unit_id)
        if unit is None or unit.parent_id is None:
            return None
        return idx.by_id.get(unit.parent_id)
