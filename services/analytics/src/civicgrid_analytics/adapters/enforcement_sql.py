"""Enforcement facts in PostgreSQL: buffered upserts (per batch), the indicator queries.

Window: ``$1`` from, ``$2`` to (either may be NULL: unbounded). Column names come from
the constants of domain/enforcement.py, never from input.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from civicgrid_shared.db.pool import Conn

from civicgrid_analytics.domain.enforcement import (
    CASE_COLUMNS,
    CASE_COUNTS,
    INSPECTION_COLUMNS,
    INSPECTION_COUNTS,
    EnforcementGroup,
    merge,
)


def _w(col: str) -> str:
    return (f"({col} >= coalesce($1::timestamptz, '-infinity') "
            f"AND {col} < coalesce($2::timestamptz, 'infinity'))")


#: count -> SQL aggregate over enforcement_case_facts
CASE_AGGREGATES: dict[str, str] = {
    "leads": f"count(*) FILTER (WHERE {_w('lead_at')})",
    "cases_filed": f"count(*) FILTER (WHERE {_w('filed_at')})",
    "decisions": f"count(*) FILTER (WHERE {_w('decided_at')})",
    "penalties": f"count(*) FILTER (WHERE {_w('decided_at')} AND decision_kind = 'penalty')",
    "fines_yuan": f"coalesce(sum(fine_yuan) FILTER (WHERE {_w('decided_at')} "
                  "AND decision_kind = 'penalty'), 0)",
    "exemptions": f"count(*) FILTER (WHERE {_w('decided_at')} AND decision_kind = 'exempted')",
    "no_violation":
        f"count(*) FILTER (WHERE {_w('decided_at')} AND decision_kind = 'no_violation')",
    "disclosures": f"count(*) FILTER (WHERE {_w('disclosed_at')})",
    "disclosures_on_time": f"count(*) FILTER (WHERE {_w('disclosed_at')} AND disclosed_on_time)",
    "cases_closed": f"count(*) FILTER (WHERE {_w('closed_at')})",
}
INSPECTION_AGGREGATES: dict[str, str] = {
    "joint_inspections": f"count(*) FILTER (WHERE {_w('performed_at')})",
    "inspections_saved":
        f"coalesce(sum(inspections_saved) FILTER (WHERE {_w('performed_at')}), 0)",
    "violations_found":
        f"coalesce(sum(violations_found) FILTER (WHERE {_w('performed_at')}), 0)",
}
assert tuple(CASE_AGGREGATES) == CASE_COUNTS
assert tuple(INSPECTION_AGGREGATES) == INSPECTION_COUNTS

_MOMENTS = ("lead_at", "filed_at", "decided_at", "disclosed_at", "closed_at")


def _upsert(table: str, key: str, columns: dict[str, str]) -> str:
    names = list(columns)
    return (f"INSERT INTO {table} ({key}, {', '.join(names)}) "  # noqa: S608 - constants
            f"SELECT * FROM unnest($1::uuid[], "
            f"{', '.join(f'${i + 2}::{columns[c]}[]' for i, c in enumerate(names))}) "
            f"ON CONFLICT ({key}) DO UPDATE SET "
            + ", ".join(f"{c} = coalesce(EXCLUDED.{c}, {table}.{c})" for c in names))


_UPSERT_CASES = _upsert("enforcement_case_facts", "enforcement_case_id", CASE_COLUMNS)
_UPSERT_INSPECTIONS = _upsert("enforcement_inspection_facts", "inspection_id",
                              INSPECTION_COLUMNS)


@dataclass(frozen=True)
class EnforcementQuery:
    start: datetime | None
    end: datetime | None
    group_by: EnforcementGroup | None = None

    def _grouped(self, table: str, aggregates: dict[str, str], column: str | None,
                 where: str) -> str:
        if column is None:
            select_key, grouping = "NULL::text AS key, true AS is_total", ""
        else:
            select_key = f"{column} AS key, GROUPING({column}) = 1 AS is_total"
            grouping = f"GROUP BY GROUPING SETS (({column}), ())"
        counts = ",\n".join(f"{sql} AS {name}" for name, sql in aggregates.items())
        return (f"SELECT {select_key},\n{counts}\nFROM {table} WHERE {where}\n"
                f"{grouping}")

    def case_sql(self) -> str:
        col = self.group_by.column if self.group_by else None
        where = " OR ".join(_w(m) for m in _MOMENTS)
        return self._grouped("enforcement_case_facts", CASE_AGGREGATES, col, f"({where})")

    def inspection_sql(self) -> str:
        # A joint inspection carries its team, not a place: grouped by county or
        # township, every inspection falls under the unknown key (see ``indicators``).
        col = "team_unit_id" if self.group_by is EnforcementGroup.TEAM else None
        return self._grouped("enforcement_inspection_facts", INSPECTION_AGGREGATES, col,
                             _w("performed_at"))

    @property
    def params(self) -> list[Any]:
        return [self.start, self.end]


class EnforcementRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        self._cases: dict[uuid.UUID, dict[str, Any]] = {}
        self._inspections: dict[uuid.UUID, dict[str, Any]] = {}

    def record_case(self, case_id: uuid.UUID, update: dict[str, Any]) -> None:
        merge(self._cases.setdefault(case_id, {}), update)

    def record_inspection(self, inspection_id: uuid.UUID, update: dict[str, Any]) -> None:
        merge(self._inspections.setdefault(inspection_id, {}), update)

    async def flush(self) -> None:
        for sql, pending, columns in ((_UPSERT_CASES, self._cases, CASE_COLUMNS),
                                      (_UPSERT_INSPECTIONS, self._inspections,
                                       INSPECTION_COLUMNS)):
            if not pending:
                continue
            ids = sorted(pending)  # a stable lock order between concurrent batches
            values = [[pending[i].get(c) for i in ids] for c in columns]
            await self._conn.execute(sql, ids, *values)
            pending.clear()

    async def indicators(self, q: EnforcementQuery
                         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(case aggregates, inspection aggregates): rows by key and the total row."""
        cases = await self._conn.fetch(q.case_sql(), *q.params)
        inspections = [dict(r) for r in await self._conn.fetch(q.inspection_sql(), *q.params)]
        if q.group_by is not None and q.group_by is not EnforcementGroup.TEAM:
            inspections += [{**r, "key": None, "is_total": False} for r in inspections
                            if r["joint_inspections"]]
        return [dict(r) for r in cases], inspections
