"""Case facts in PostgreSQL: the projection's buffered writes (a few statements per fold,
the rollups in the same transaction), indicator queries from the rollups or from the facts.
The consumer does not write here: it appends to the fact journal (``adapters/journal.py``)."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import orjson
from civicgrid_shared.db.pool import Conn

from civicgrid_analytics.adapters.indicator_sql import IndicatorQuery
from civicgrid_analytics.adapters.rollup_sql import (
    INSERT_NEW,
    LOCK_STORED,
    UPDATE_STORED,
    WRITE_DELTA,
    rollup_query,
    with_now_figures,
    write_delta_params,
)
from civicgrid_analytics.domain import rollups
from civicgrid_analytics.domain.facts import FACT_COLUMNS, merge
from civicgrid_analytics.domain.indicators import Dimension
from civicgrid_analytics.domain.windows import CITY_TZ

Path = Literal["rollups", "facts"]

# The rollup statements are wide (hundreds of expressions): compiling them with JIT
# costs about a second, far more than running them; and parallel workers take longer
# to start (10-15 ms) than the range scans they would share. Per transaction only.
_NO_JIT = "SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0"
#: a statement that also reads many facts: they are worth parallel workers
_NO_JIT_ONLY = "SET LOCAL jit = off"
#: the rollups' zone, and which of a batch's appeals are stored already
_STORED = ("SELECT (SELECT tz FROM rollup_state) AS tz, array(SELECT appeal_id FROM case_facts "
           "WHERE appeal_id = ANY($1::uuid[])) AS stored")


@dataclass(frozen=True)
class RollupState:
    tz: str  # the zone of the day buckets
    ready: bool  # the rollups hold every stored fact
    fine_ready: bool = True  # ... and so does indicator_fine (see migration 0105)


def _now_figures(now: datetime, group_by: Dimension | None, filters: dict[Dimension, str],
                 tz: str) -> rollups.RollupPlan | None:
    """The rollup plan of the now figures alone (``open``, ``overdue_open``): no bucket,
    and an empty window for today's due; None when no rollup row serves the grouping."""
    plan = rollups.plan(None, None, now, group_by, filters, tz)
    return None if plan is None else dataclasses.replace(plan, use_months=False, day_ranges=())


class FactRepository:
    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        self._pending: dict[uuid.UUID, dict[str, Any]] = {}

    def record(self, appeal_id: uuid.UUID, update: dict[str, Any]) -> None:
        merge(self._pending.setdefault(appeal_id, {}), update)

    async def flush(self) -> None:
        """Write the fold's facts and move their rollup contributions (same transaction).

        New appeals are inserted; stored rows are locked (id order), merged by each
        column's policy here (``domain/facts.merge``, as within the batch) and written
        back; the rollups get new - old for them and + new for the inserted ones, summed
        per rollup row here (``domain/rollups.RollupDelta``) and added in one statement.
        Lock order in every transaction: new facts, stored facts (id order), rollup rows
        (key order), so two concurrent batches cannot deadlock.
        """
        if not self._pending:
            return
        ids = sorted(self._pending)  # a stable lock order between concurrent batches
        pending, self._pending = self._pending, {}
        await self._conn.execute(_NO_JIT)
        state = await self._conn.fetchrow(_STORED, ids)
        assert state is not None
        tz, stored = state["tz"] or CITY_TZ, set(state["stored"])
        delta = rollups.RollupDelta(tz)
        new = [i for i in ids if i not in stored]
        inserted: set[uuid.UUID] = set()
        if new:
            rows = await self._conn.fetch(INSERT_NEW, rows_json(pending, new))
            inserted = {r[0] for r in rows}
            for i in new:
                if i in inserted:
                    delta.move(None, _with_deadline(pending[i]))
        # Rows stored before, or inserted by another transaction since the check above.
        rest = [i for i in ids if i not in inserted]
        if rest:
            locked = await self._conn.fetch(LOCK_STORED, rest)
            if len(locked) != len(rest):  # facts are never deleted: not a state to go on in
                raise RuntimeError("fact rows of this batch vanished while it was written")
            changed: dict[uuid.UUID, dict[str, Any]] = {}
            for record in locked:
                old = dict(record)
                update = pending[old["appeal_id"]]
                row = {c: old[c] for c in FACT_COLUMNS}
                merge(row, update)
                if any(row[c] != old[c] for c in update):  # merge sets no other column
                    changed[old["appeal_id"]] = row
                    delta.move(old, _with_deadline(row))
            if changed:
                order = sorted(changed)
                await self._conn.execute(UPDATE_STORED, rows_json(changed, order))
        params = write_delta_params(delta)
        if params is not None:
            await self._conn.fetchval(WRITE_DELTA, *params)

    async def rollup_state(self) -> RollupState:
        row = await self._conn.fetchrow("SELECT tz, ready, fine_ready FROM rollup_state")
        return RollupState(row["tz"], row["ready"], row["fine_ready"]) if row \
            else RollupState(CITY_TZ, False, False)

    async def indicators(self, q: IndicatorQuery, path: Path | None = None,
                         median: bool = True, counts: frozenset[str] | None = None
                         ) -> tuple[list[dict[str, Any]], str]:
        """Counts and medians by event time, and which path computed them: the rollups
        when they can answer the query; ``facts+rollups`` for a window they cannot answer
        but a grouping they hold (the now figures from them); else the facts. ``path``
        forces one (tests and rebuild compare both). The total row has ``key`` None and
        ``is_total``. ``counts``: the rollups may leave every other count out (NULL)."""
        plan = None
        fine = False
        if path != "facts":
            state = await self.rollup_state()
            fine = state.fine_ready
            if state.ready:
                plan = rollups.plan(q.start, q.end, q.now, q.group_by, q.filters, state.tz)
            if plan is None and path == "rollups":
                raise ValueError("the rollups cannot answer this query")
        if plan is None and path is None and state.ready:
            now_plan = _now_figures(q.now, q.group_by, q.filters, state.tz)
            if now_plan is not None:
                # A window the buckets cannot answer: its counts from the facts whose life
                # overlaps it, the now figures from the rollups (not from every open case:
                # at 10 M cases 1.7 M rows, most of the statement's time).
                windowed = q.sql(open_cases=False)
                sql, params = with_now_figures(windowed, rollup_query(
                    now_plan, q.group_by, q.filters, q.now, q.now, q.now, median=False,
                    first_param=len(windowed[1]) + 1))
                await self._conn.execute(_NO_JIT_ONLY)
                return [dict(r) for r in await self._conn.fetch(sql, *params)], \
                    "facts+rollups"
        if plan is None:
            sql, params = q.sql()
            return [dict(r) for r in await self._conn.fetch(sql, *params)], "facts"
        sql, params = rollup_query(plan, q.group_by, q.filters, q.start, q.end, q.now, fine,
                                   median, counts=counts)
        await self._conn.execute(_NO_JIT)
        return [dict(r) for r in await self._conn.fetch(sql, *params)], "rollups"

    async def fact(self, appeal_id: uuid.UUID) -> dict[str, Any] | None:
        row = await self._conn.fetchrow("SELECT * FROM case_facts WHERE appeal_id = $1",
                                        appeal_id)
        return dict(row) if row else None

    async def open_by_tier(self, now: datetime) -> list[dict[str, Any]]:
        state = await self.rollup_state()
        plan = _now_figures(now, Dimension.TIER, {}, state.tz)
        if state.ready and plan is not None:
            sql, params = rollup_query(plan, Dimension.TIER, {}, now, now, now)
            await self._conn.execute(_NO_JIT)
            rows = await self._conn.fetch(sql, *params)
            return [{"tier": r["key"] if r["key"] is not None else "unknown",
                     "open": int(r["open"] or 0), "overdue": int(r["overdue_open"] or 0)}
                    for r in rows if not r["is_total"] and r["open"]]
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
        state = await self.rollup_state()
        first, last = rollups.aligned_day(start, state.tz), rollups.aligned_day(end, state.tz)
        if state.ready and not filters and tz == state.tz and first and last:
            return await self._daily_trend_rollups(first, last)
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


    async def _daily_trend_rollups(self, first: date, last: date) -> list[dict[str, Any]]:
        rows = await self._conn.fetch(
            """
            SELECT bucket AS day, w.what, w.n FROM indicator_days,
            LATERAL (VALUES ('accepted', registered), ('closed', closed),
                            ('disposed', disposed), ('received', received)) AS w(what, n)
            WHERE dim = 'total' AND bucket >= $1 AND bucket < $2 AND w.n > 0
            ORDER BY 1, 2
            """, first, last)
        return [dict(r) for r in rows]


def _with_deadline(row: dict[str, Any]) -> dict[str, Any]:
    """A fact row as the rollups read it: with its time limit in force (the generated
    column ``deadline_at``, computed by the same rule)."""
    return row | {"deadline_at": rollups.deadline_at(row)}


def rows_json(rows: dict[uuid.UUID, dict[str, Any]], ids: list[uuid.UUID]) -> str:
    """The fact rows of ``ids`` as ``INSERT_NEW`` / ``UPDATE_STORED`` read them (keys that
    are no column of ``case_facts`` would be ignored; the statements write FACT_COLUMNS)."""
    # default=str: the uuids asyncpg returns (its own type, which orjson does not know)
    return orjson.dumps([{**rows[i], "appeal_id": i} for i in ids], default=str).decode()


def _filter_sql(filters: dict[Dimension, str], params: list[Any]) -> str:
    out = []
    for dim, value in filters.items():
        params.append(value)
        out.append(f"AND {dim.value} = ${len(params)}")
    return " ".join(out)

