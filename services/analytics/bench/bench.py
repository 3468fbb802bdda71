"""Benchmark: events/s through the real batch consumer (decode, inbox, handlers, upsert,
commit; no broker), and indicator query p50/p99 over N synthetic cases.

    uv run python services/analytics/bench/bench.py --dsn postgresql://... --cases 1000000

Uses its own schema (default ``analytics_bench``, dropped and recreated).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import asyncpg
from aiokafka import ConsumerRecord
from civicgrid_analytics.adapters.indicator_sql import IndicatorQuery
from civicgrid_analytics.bootstrap import MIGRATIONS, AnalyticsSettings, handlers
from civicgrid_analytics.domain.indicators import Dimension
from civicgrid_analytics.service_layer.unit_of_work import AnalyticsUnitOfWork
from civicgrid_shared.contracts.envelope import new_event
from civicgrid_shared.contracts.events import (
    AppealReceived,
    CaseAssigned,
    CaseClosed,
    CaseRegistered,
    CaseResolved,
    Channel,
    TerritoryRef,
)
from civicgrid_shared.db.migrate import migrate
from civicgrid_shared.db.pool import create_pool
from civicgrid_shared.messaging.consumer import BatchConsumer
from civicgrid_shared.messaging.deadletter import DeadLetterPublisher

NOW = datetime.now(UTC)


def _records(appeals: int) -> list[ConsumerRecord]:
    out = []
    for i in range(appeals):
        a, c = uuid.uuid4(), uuid.uuid4()
        t0 = NOW - timedelta(hours=i % 2000)
        terr = TerritoryRef(county_code=f"1405{i % 10:02d}",
                            township_code=f"1405{i % 10:02d}{i % 12:03d}")
        for p in (
            AppealReceived(appeal_id=a, tracking_code="B", channel=Channel.HOTLINE,
                           received_at=t0, content="x", territory=terr),
            CaseRegistered(case_id=c, appeal_id=a, case_number="B", channel=Channel.HOTLINE,
                           matter_code=f"SZ-{i % 40:03d}", category_code="SZ",
                           priority="normal", territory=terr, received_at=t0,
                           registered_at=t0),
            CaseAssigned(case_id=c, appeal_id=a, unit_id=f"unit-{i % 300}", tier="township",
                         sign_for_due=t0 + timedelta(hours=2),
                         resolve_due=t0 + timedelta(days=7), assigned_at=t0),
            CaseResolved(case_id=c, appeal_id=a, unit_id="u", result="r", on_time=True,
                         resolved_at=t0 + timedelta(hours=30)),
            CaseClosed(case_id=c, appeal_id=a, unit_id="u", on_time=True,
                       closed_at=t0 + timedelta(hours=40)),
        ):
            e = new_event(p, topic="civicgrid.cases.v1", key=str(c), source="/bench")
            out.append(ConsumerRecord("civicgrid.cases.v1", 0, len(out), 0, 0,
                                      e.key.encode(), e.value, None, 0, 0,
                                      tuple(e.headers)))
    return out


class _NoDeadLetters:
    async def send(self, *args: Any) -> None:
        raise AssertionError("nothing should be dead-lettered")


async def ingest(pool: asyncpg.Pool, schema: str, appeals: int, batch: int) -> float:
    records = _records(appeals)
    consumer = BatchConsumer(
        "analytics", handlers(AnalyticsSettings()).routes(),
        lambda: AnalyticsUnitOfWork(pool, schema, "/bench"),
        cast(DeadLetterPublisher, _NoDeadLetters()))
    started = time.perf_counter()
    for i in range(0, len(records), batch):
        await consumer.process(records[i:i + batch])
    return len(records) / (time.perf_counter() - started)


async def fill(conn: asyncpg.Connection, cases: int) -> None:
    """N synthetic fact rows over the last year, 2/3 closed (set-based, fast)."""
    await conn.execute("""
        INSERT INTO case_facts (appeal_id, case_id, channel, matter_code, category_code,
            county_code, township_code, unit_id, tier, received_at, registered_at,
            assigned_at, last_assigned_at, resolve_due, signed_at, signed_on_time,
            resolved_at, resolved_on_time, called_back_at, callback_solved,
            callback_satisfaction, closed_at, closed_on_time)
        SELECT gen_random_uuid(), gen_random_uuid(), 'hotline',
               'SZ-' || lpad((g % 40)::text, 3, '0'), 'SZ', '1405' || lpad((g % 10)::text, 2, '0'),
               '1405' || lpad((g % 10)::text, 2, '0') || lpad((g % 12)::text, 3, '0'),
               'unit-' || (g % 300), 'township', t, t, t, t, t + interval '7 days',
               t + interval '1 hour', g % 7 <> 0,
               CASE WHEN g % 3 <> 0 THEN t + interval '30 hours' END, true,
               CASE WHEN g % 3 <> 0 THEN t + interval '35 hours' END, g % 9 <> 0,
               CASE WHEN g % 5 = 0 THEN 'basically_satisfied' ELSE 'satisfied' END,
               CASE WHEN g % 3 <> 0 THEN t + interval '40 hours' END, g % 11 <> 0
        FROM (SELECT g, now() - (g % 525600) * interval '1 minute' AS t
              FROM generate_series(1, $1) g) s
    """, cases)
    await conn.execute("ANALYZE case_facts")


async def query_times(pool: asyncpg.Pool, q: IndicatorQuery, n: int) -> tuple[float, float]:
    sql, params = q.sql()
    times = []
    async with pool.acquire() as conn:
        for _ in range(n):
            t = time.perf_counter()
            await conn.fetch(sql, *params)
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.99 * len(times)))]


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--schema", default="analytics_bench")
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--ingest-appeals", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=30)
    a = ap.parse_args()
    conn = await asyncpg.connect(a.dsn)
    await conn.execute(f'DROP SCHEMA IF EXISTS "{a.schema}" CASCADE')
    await migrate(a.dsn, a.schema, MIGRATIONS)
    pool = await create_pool(a.dsn, a.schema, 1, 4)
    qpool = await asyncpg.create_pool(a.dsn, min_size=1, max_size=1,
                                      server_settings={"search_path": a.schema})
    rate = await ingest(pool, a.schema, a.ingest_appeals, a.batch)
    print(f"ingest: {rate:,.0f} events/s (batches of {a.batch}, {a.ingest_appeals * 5} events)")
    await conn.execute(f'SET search_path = "{a.schema}"')
    t = time.perf_counter()
    await fill(conn, a.cases)
    print(f"filled {a.cases:,} cases in {time.perf_counter() - t:.1f}s")
    now = datetime.now(UTC)
    for name, q in (
        ("today, total", IndicatorQuery(now.replace(hour=0, minute=0), None, now)),
        ("30d, total", IndicatorQuery(now - timedelta(days=30), now, now)),
        ("30d, by county", IndicatorQuery(now - timedelta(days=30), now, now, Dimension.COUNTY)),
        ("30d, by unit", IndicatorQuery(now - timedelta(days=30), now, now, Dimension.UNIT)),
        ("all time, by county", IndicatorQuery(None, None, now, Dimension.COUNTY)),
    ):
        p50, p99 = await query_times(qpool, q, a.runs)
        print(f"query {name:22s} p50 {p50:8.1f} ms   p99 {p99:8.1f} ms")
    await pool.close()
    await qpool.close()
    await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
