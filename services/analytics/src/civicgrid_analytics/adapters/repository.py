"""Case facts in PostgreSQL (schema ``analytics``): buffered upserts, indicator queries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from civicgrid_shared.db.pool import Conn

from civicgrid_analytics.domain.facts import FACT_COLUMNS, merge
from civicgrid_analytics.domain.indicators import Dimension

_UUID_COLUMNS = {"case_id"}
_TIME_COLUMNS = {"received_at", "registered_at", "rejected_at", "assigned_at",
                 "sign_for_due", "resolve_due"}


def _pg_type(column: str) -> str:
    if column in _UUID_COLUMNS:
        return "uuid"
    if column in _TIME_COLUMNS:
        return "timestamptz"
    return "text"


# One statement per batch: unnest arrays into rows, upsert keeping known values.
# Column names come from FACT_COLUMNS (constants), never from input.
_UPSERT = (  # noqa: S608
    "INSERT INTO case_facts (appeal_id, {cols}) "
    "SELECT * FROM unnest($1::uuid[], {params}) "
    "ON CONFLICT (appeal_id) DO UPDATE SET {sets}"
).format(
    cols=", ".join(FACT_COLUMNS),
    params=", ".join(f"${i + 2}::{_pg_type(c)}[]" for i, c in enumerate(FACT_COLUMNS)),
    sets=", ".join(f"{c} = coalesce(EXCLUDED.{c}, case_facts.{c})" for c in FACT_COLUMNS),
)


class FactRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        self._pending: dict[uuid.UUID, dict[str, Any]] = {}

    def record(self, appeal_id: uuid.UUID, update: dict[str, Any]) -> None:
        merge(self._pending.setdefault(appeal_id, {}), update)

    async def flush(self) -> None:
        if not self._pending:
            return
        ids = list(self._pending)
        columns = [[self._pending[i].get(c) for i in ids] for c in FACT_COLUMNS]
        await self._conn.execute(_UPSERT, ids, *columns)
        self._pending.clear()

    async def counts(self, start: datetime | None, end: datetime | None,
                     group_by: Dimension | None, filters: dict[Dimension, str]
                     ) -> list[dict[str, Any]]:
        """Counts by event time within [start, end): each moment counted in its own window."""
        params: list[Any] = [start, end]
        where = []
        for dim, value in filters.items():
            params.append(value)
            where.append(f"{dim.value} = ${len(params)}")
        key = group_by.value if group_by else "NULL::text"
        in_window = "({col} IS NOT NULL AND ($1::timestamptz IS NULL OR {col} >= $1) " \
                    "AND ($2::timestamptz IS NULL OR {col} < $2))"
        sql = f"""
            SELECT {key} AS key,
                   count(*) FILTER (WHERE {in_window.format(col="received_at")}) AS received,
                   count(*) FILTER (WHERE {in_window.format(col="registered_at")}) AS registered,
                   count(*) FILTER (WHERE {in_window.format(col="rejected_at")}) AS rejected,
                   count(*) FILTER (WHERE {in_window.format(col="assigned_at")}) AS assigned
            FROM case_facts
            {"WHERE " + " AND ".join(where) if where else ""}
            GROUP BY 1 ORDER BY 1 NULLS LAST
        """  # noqa: S608 - identifiers come from the Dimension enum, values are parameters
        rows = await self._conn.fetch(sql, *params)
        return [dict(r) for r in rows]
