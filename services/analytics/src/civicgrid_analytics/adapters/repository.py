"""Case facts in PostgreSQL: buffered upserts (one statement per batch), indicator queries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from civicgrid_shared.db.pool import Conn

from civicgrid_analytics.adapters.indicator_sql import IndicatorQuery
from civicgrid_analytics.domain.facts import COLUMNS, FACT_COLUMNS, merge
from civicgrid_analytics.domain.indicators import Dimension


def _set_clause(column: str) -> str:
    """The upsert's SET expression for a column, by its merge policy (domain/facts.py)."""
    rule = COLUMNS[column][1]
    new, old = f"EXCLUDED.{column}", f"case_facts.{column}"
    if rule in ("any", "greatest"):
        return f"{column} = GREATEST({new}, {old})"  # LEAST/GREATEST ignore NULLs
    if rule == "least":
        return f"{column} = LEAST({new}, {old})"
    if rule == "sum":
        return f"{column} = CASE WHEN {new} IS NULL THEN {old} " \
               f"ELSE coalesce({old}, 0) + {new} END"
    moment = rule.removeprefix("follows:")
    return (f"{column} = CASE WHEN EXCLUDED.{moment} IS NOT NULL AND "
            f"(case_facts.{moment} IS NULL OR EXCLUDED.{moment} >= case_facts.{moment}) "
            f"THEN coalesce({new}, {old}) ELSE {old} END")


# One statement per batch: unnest arrays into rows, upsert by each column's policy.
# Column names come from COLUMNS (constants), never from input.
_UPSERT = (  # noqa: S608
    "INSERT INTO case_facts (appeal_id, {cols}) "
    "SELECT * FROM unnest($1::uuid[], {params}) "
    "ON CONFLICT (appeal_id) DO UPDATE SET {sets}"
).format(
    cols=", ".join(FACT_COLUMNS),
    params=", ".join(f"${i + 2}::{COLUMNS[c][0]}[]" for i, c in enumerate(FACT_COLUMNS)),
    sets=", ".join(_set_clause(c) for c in FACT_COLUMNS),
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
        ids = sorted(self._pending)  # a stable lock order between concurrent batches
        columns = [[self._pending[i].get(c) for i in ids] for c in FACT_COLUMNS]
        await self._conn.execute(_UPSERT, ids, *columns)
        self._pending.clear()

    async def indicators(self, q: IndicatorQuery) -> list[dict[str, Any]]:
        """Counts and medians by event time; the total row has ``key`` None and ``total``."""
        sql, params = q.sql()
        rows = await self._conn.fetch(sql, *params)
        return [dict(r) for r in rows]

    async def fact(self, appeal_id: uuid.UUID) -> dict[str, Any] | None:
        row = await self._conn.fetchrow("SELECT * FROM case_facts WHERE appeal_id = $1",
                                        appeal_id)
        return dict(row) if row else None

    async def open_by_tier(self, now: datetime) -> list[dict[str, Any]]:
        rows = await self._conn.fetch(
            """
            SELECT coalesce(tier, 'unknown') AS tier, count(*) AS open,
                   count(*) FILTER (WHERE deadline_at < $1
                       AND (resolved_at IS NULL OR reopened_at > resolved_at)) AS overdue
            FROM case_facts
            WHERE closed_at IS NULL AND registered_at IS NOT NULL
            GROUP BY 1 ORDER BY 1
            """, now)
        return [dict(r) for r in rows]

    async def overdue_list(self, now: datetime, limit: int,
                           filters: dict[Dimension, str]) -> list[dict[str, Any]]:
        params: list[Any] = [now, limit]
        where = _filter_sql(filters, params)
        rows = await self._conn.fetch(
            f"""
            SELECT case_id, case_number, matter_code, county_code, township_code, unit_id,
                   tier, deadline_at,
                   round((extract(epoch FROM $1::timestamptz - deadline_at) / 3600)::numeric,
                         1)::float8 AS hours_overdue
            FROM case_facts
            WHERE closed_at IS NULL AND registered_at IS NOT NULL AND deadline_at < $1
              AND (resolved_at IS NULL OR reopened_at > resolved_at) {where}
            ORDER BY deadline_at, appeal_id LIMIT $2
            """, *params)  # noqa: S608 - identifiers from the Dimension enum only
        return [dict(r) for r in rows]

    async def daily_trend(self, start: datetime, end: datetime, tz: str,
                          filters: dict[Dimension, str]) -> list[dict[str, Any]]:
        """Per city-local day: received, registered, disposed and closed."""
        params: list[Any] = [start, end, tz]
        where = _filter_sql(filters, params)
        # Identifiers are constants and Dimension names; values are parameters.
        part = ("SELECT '{name}' AS what, ({col} AT TIME ZONE $3)::date AS day "
                "FROM case_facts WHERE {col} >= $1 AND {col} < $2 {where}")
        union = " UNION ALL ".join(
            part.format(name=name, col=col, where=where)
            for name, col in (("received", "received_at"), ("accepted", "registered_at"),
                              ("disposed", "resolved_at"), ("closed", "closed_at")))
        sql = (f"SELECT day, what, count(*) AS n FROM ({union}) m "  # noqa: S608
               "GROUP BY 1, 2 ORDER BY 1, 2")
        rows = await self._conn.fetch(sql, *params)
        return [dict(r) for r in rows]


def _filter_sql(filters: dict[Dimension, str], params: list[Any]) -> str:
    out = []
    for dim, value in filters.items():
        params.append(value)
        out.append(f"AND {dim.value} = ${len(params)}")
    return " ".join(out)

