"""Analytics benchmark: ingest speed, and grouped indicator queries over N stored cases.

Phases (``--phases``, comma-separated, in this order):

- ``ingest``: events/s through analytics' real batch consumer (decode, inbox, handlers,
  the fact journal, commit) and its projection folding the journal into the facts and
  rollups alongside (as the service runs them), without a broker; the clock stops when
  every event is folded. ``--fold-after`` first times the two sides one after the other
  (consume everything, then fold it all).
  ``--order grouped`` sends an appeal's five events one after the other (the whole life
  cycle in one batch); ``--order shuffled`` mixes them across the whole run (every event
  changes a case stored by an earlier fold, its days far apart from the batch's others:
  the worst case); ``--order timeline`` sends them in the order of their event time, as
  live traffic arrives and a replay of the topics reads them (with
  ``--appeals-per-hour``: a city's density, so that a fold's events share their days).
- ``broker``: the same events through the real broker: an embedded tansu broker is
  started on a free port, the events are produced first, then analytics' runtime (the
  service's own subscription, consumer, unit of work and projection, without HTTP)
  consumes them; events/s from the first committed batch (the inbox's ``processed_at``)
  to the moment the last event was folded (seen within 50 ms), and from the runtime's
  start (consumer-group join included).
- ``fill``: N synthetic cases written set-based (``generate_series``; territory, matters
  and units from the reference data), then the rollups built from them by the set-based
  rebuild (``adapters/rollup_store.rebuild_rollups``, which a test proves equal to the
  incremental write path).
- ``query``: p50 / p99 of representative grouped indicator queries, through the same
  view function as ``GET /v1/indicators`` (without HTTP), with which path answered.

    uv run python services/analytics/bench/bench.py --cases 1000000

Without ``--dsn`` it starts a PostgreSQL cluster of its own (``civicgrid_stack``'s, in a
temporary directory, on a free port) and stops and removes it at the end. ``query`` runs
each query through the rollups and then, back to back, through the facts (``--no-facts``
to skip the facts path), so that the two figures compare.

Uses its own schema (default ``analytics_bench``, dropped and recreated by ``ingest`` and
``fill``; ``query`` alone reuses it). The broker phase uses ``<schema>_broker``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import asyncpg
from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from civicgrid_analytics import metrics
from civicgrid_analytics.adapters.indicator_sql import IndicatorQuery
from civicgrid_analytics.adapters.repository import Path as QueryPath
from civicgrid_analytics.adapters.rollup_sql import (
    ROLLUP_TABLES,
    rebuild_buckets_sql,
    rebuild_fine_sql,
    rebuild_now_sql,
)
from civicgrid_analytics.adapters.rollup_store import rebuild_rollups
from civicgrid_analytics.bootstrap import (
    CONSUMER,
    MIGRATIONS,
    SOURCE,
    AnalyticsSettings,
    handlers,
    view_settings,
)
from civicgrid_analytics.contracts import TOPICS
from civicgrid_analytics.domain.indicators import Dimension
from civicgrid_analytics.domain.windows import Window, bounds
from civicgrid_analytics.runtime import AnalyticsRuntime
from civicgrid_analytics.service_layer import views
from civicgrid_analytics.service_layer.projection import FactProjection
from civicgrid_analytics.service_layer.unit_of_work import AnalyticsUnitOfWork
from civicgrid_shared import heap
from civicgrid_shared.contracts.envelope import OutgoingEvent, new_event
from civicgrid_shared.contracts.events import (
    AppealReceived,
    CaseAssigned,
    CaseClosed,
    CaseRegistered,
    CaseResolved,
    Channel,
    TerritoryRef,
)
from civicgrid_shared.contracts.topics import APPEALS, CASES
from civicgrid_shared.db.migrate import migrate
from civicgrid_shared.db.pool import create_pool
from civicgrid_shared.messaging.consumer import BatchConsumer
from civicgrid_shared.messaging.deadletter import DeadLetterPublisher
from civicgrid_shared.messaging.topics import ensure_topics
from civicgrid_shared.reference.loader import load_matters, load_territory, load_units

NOW = datetime.now(UTC)


# -- reference data: realistic cardinalities ---------------------------------------------

def _reference() -> dict[str, list[tuple[str, ...]]]:
    """Grids with their territory, grid worker and the units that handle their cases
    (one of the community's, one of the township's, one of the county's: a unit works in
    its own territory), matters with their category, channels."""
    territory, units, matters = load_territory(), load_units(), load_matters()
    by_territory: dict[str, list[tuple[str, str]]] = {}
    for u in units.units:
        by_territory.setdefault(u.territory_code, []).append((u.id, u.tier))
    grids = []
    for n, g in enumerate(territory.grids):
        p = territory.path(g.code)
        local = [by_territory.get(code) or [("city-platform", "city")]
                 for code in (p.community_code, p.township_code, p.county_code)]
        picked = [units_of[n % len(units_of)] for units_of in local]
        grids.append((g.code, p.community_code, p.township_code, p.county_code,
                      g.worker_id or "", *(x for unit in picked for x in unit)))
    return {
        "grids": grids,
        "matters": [(m.code, m.category_code) for m in matters.matter_records],
        "channels": [(c.value,) for c in Channel],
    }


# -- ingest ------------------------------------------------------------------------------

#: the moment of each bench event (the first one its payload has)
_MOMENTS = ("closed_at", "resolved_at", "assigned_at", "registered_at", "received_at")


def _events(appeals: int, ref: dict[str, list[tuple[str, ...]]], seed: int = 1,
            shape: str = "original", per_hour: int | None = None,
            timeline: bool = False) -> list[OutgoingEvent]:
    """Five events per appeal (received, registered, assigned, resolved, closed), received
    one hour apart going back from now (the first 2,000 hours, then again); with
    ``per_hour``, that many appeals an hour, evenly spread, going back from 41 hours ago
    (so that every event is in the past). ``timeline``: in the order of their event time
    (an appeal's resolution 30 hours and its closing 40 hours after it was received), as
    live traffic arrives and as a replay of the topics reads it.

    ``original``: the values of the first version of this bench (10 counties, 60
    townships, 40 matters, 300 units, no community, grid or grid worker), so that figures
    compare with the 7,900 events/s measured before the rollups. ``reference``: every
    appeal in a random grid of the reference territory (4,601 grids, with community,
    township and county), with one of 190 matters and a unit of its community, township
    or county: many more distinct rollup keys per batch.
    """
    rnd = random.Random(seed)
    out: list[tuple[datetime, OutgoingEvent]] = []
    for i in range(appeals):
        a, c = uuid.uuid4(), uuid.uuid4()
        t0 = NOW - timedelta(hours=i % 2000) if per_hour is None \
            else NOW - timedelta(hours=41) - timedelta(hours=(appeals - 1 - i) / per_hour)
        if shape == "original":
            county = f"1405{i % 10:02d}"
            terr = TerritoryRef(county_code=county, township_code=f"{county}{i % 12:03d}")
            matter, category, unit, tier = f"SZ-{i % 40:03d}", "SZ", f"unit-{i % 300}", \
                "township"
        else:
            grid, community, township, county, _, *local = rnd.choice(ref["grids"])
            matter, category = rnd.choice(ref["matters"])
            level = rnd.choice((0, 0, 0, 0, 0, 1, 1, 1, 2, 2))  # community, township, county
            unit, tier = local[2 * level], local[2 * level + 1]
            terr = TerritoryRef(county_code=county, township_code=township,
                                community_code=community, grid_code=grid)
        for p, topic in (
            (AppealReceived(appeal_id=a, tracking_code="B", channel=Channel.HOTLINE,
                            received_at=t0, content="x", territory=terr), APPEALS.name),
            (CaseRegistered(case_id=c, appeal_id=a, case_number="B", channel=Channel.HOTLINE,
                            matter_code=matter, category_code=category, priority="normal",
                            territory=terr, received_at=t0, registered_at=t0), CASES.name),
            (CaseAssigned(case_id=c, appeal_id=a, unit_id=unit, tier=tier,
                          sign_for_due=t0 + timedelta(hours=2),
                          resolve_due=t0 + timedelta(days=7), assigned_at=t0), CASES.name),
            (CaseResolved(case_id=c, appeal_id=a, unit_id=unit, result="r", on_time=True,
                          resolved_at=t0 + timedelta(hours=30)), CASES.name),
            (CaseClosed(case_id=c, appeal_id=a, unit_id=unit, on_time=True,
                        closed_at=t0 + timedelta(hours=40)), CASES.name),
        ):
            key = str(a) if topic == APPEALS.name else str(c)
            at = next(getattr(p, f) for f in _MOMENTS if getattr(p, f, None) is not None)
            out.append((at, new_event(p, topic=topic, key=key, source="/bench")))
    if timeline:
        out.sort(key=lambda e: e[0])  # stable: an appeal's events of one moment in order
    return [e for _, e in out]


def _records(events: Sequence[OutgoingEvent]) -> list[ConsumerRecord]:
    return [ConsumerRecord(e.topic, 0, n, 0, 0, e.key.encode(), e.value, None, 0, 0,
                           tuple(e.headers)) for n, e in enumerate(events)]


class _NoDeadLetters:
    async def send(self, *args: Any) -> None:
        raise AssertionError("nothing should be dead-lettered")


def _cpu_s(pids: Sequence[int]) -> float:
    """User + system CPU seconds of these processes so far (Linux /proc; 0 if unreadable)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


async def ingest(pool: asyncpg.Pool, schema: str, events: Sequence[OutgoingEvent],
                 batch: int, fold_after: bool = False) -> dict[str, float]:
    """Events/s, and the CPU each event cost in this process and in its PostgreSQL
    backends (when PostgreSQL runs on this machine): on a shared machine the CPU per event
    says more about capacity than the rate. ``fold_after``: consume everything first
    (journal only), then fold it all (as many rows per fold as the service takes), each
    measured on its own: what each side costs and could do alone."""
    records = _records(events)

    def make_uow() -> AnalyticsUnitOfWork:
        return AnalyticsUnitOfWork(pool, schema, "/bench", journal_appended=projection.wake)

    projection = FactProjection(make_uow, max_rows=AnalyticsSettings().fold_max_batches)
    consumer: BatchConsumer[AnalyticsUnitOfWork] = BatchConsumer(
        CONSUMER, handlers(AnalyticsSettings()).routes(), make_uow,
        cast(DeadLetterPublisher, _NoDeadLetters()))
    async with pool.acquire() as conn:
        backends = [r[0] for r in await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1", schema)]
    n = len(records)

    def since(t0: float, pg0: float, py0: float) -> dict[str, float]:
        wall = time.perf_counter() - t0
        return {"events": n, "events_per_s": n / wall, "wall_s": wall,
                "python_cpu_us_per_event": (time.process_time() - py0) / n * 1e6,
                "postgres_cpu_us_per_event": (_cpu_s(backends) - pg0) / n * 1e6}

    def mark() -> tuple[float, float, float]:
        return time.perf_counter(), _cpu_s(backends), time.process_time()

    start = mark()
    if fold_after:
        for i in range(0, n, batch):
            await consumer.process(records[i:i + batch])
        consumed = since(*start)
        start = mark()
        await projection.catch_up()
        folded = since(*start)
        return {**{f"consume_{k}": v for k, v in consumed.items()},
                **{f"fold_{k}": v for k, v in folded.items()}}
    # As in the service: the projection folds while the consumer consumes.
    folding = asyncio.create_task(projection.run())
    for i in range(0, n, batch):
        await consumer.process(records[i:i + batch])
    await projection.catch_up()  # until every event counts in the facts and rollups
    result = since(*start)
    folding.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await folding
    return result


# -- through the broker ------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def produce(bootstrap: str, events: Sequence[OutgoingEvent]) -> None:
    """Put the events on the broker as they are (large batches: the producing is not
    what is measured)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                enable_idempotence=False, linger_ms=5,
                                max_batch_size=1 << 20)
    await producer.start()
    try:
        for e in events:
            await producer.send(e.topic, value=e.value, key=e.key.encode(), headers=e.headers)
        await producer.flush()
    finally:
        await producer.stop()


async def through_broker(dsn: str, schema: str, events: Sequence[OutgoingEvent],
                         batch: int) -> dict[str, float]:
    from civicgrid_stack.broker import TansuBroker

    log = Path(tempfile.mkdtemp(prefix="analytics-bench-")) / "tansu.log"
    broker = TansuBroker(_free_port(), "127.0.0.1", log)
    broker.start()
    runtime: AnalyticsRuntime | None = None
    try:
        settings = AnalyticsSettings(database_url=dsn, kafka_bootstrap=broker.bootstrap,
                                     consumer_max_records=batch,
                                     db_pool_min=2, db_pool_max=6)
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        await admin.start()
        try:
            await ensure_topics(admin, TOPICS, settings)
        finally:
            await admin.close()
        await produce(broker.bootstrap, events)

        conn = await asyncpg.connect(dsn)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        runtime = AnalyticsRuntime("analytics", schema, settings, MIGRATIONS, topics=TOPICS)
        rt = runtime

        def make_uow() -> AnalyticsUnitOfWork:
            return AnalyticsUnitOfWork(rt.db, schema, source=SOURCE,
                                       journal_appended=projection.wake)

        # The service's own consumer registration and projection (bootstrap.py), without
        # HTTP.
        projection = FactProjection(make_uow, max_rows=settings.fold_max_batches)
        runtime.project_with(projection)
        runtime.add_consumer(CONSUMER, [APPEALS, CASES], dict(handlers(settings).routes()),
                             make_uow, description="bench")
        folds0, fold_s0 = _observed(metrics.FOLD_SECONDS)  # (the ingest phase folds too)
        started = time.perf_counter()
        await runtime.start()
        deadline = time.monotonic() + 900
        count = 0
        # Done when every event is consumed (inbox) and folded (journal empty).
        while time.monotonic() < deadline:
            row = await conn.fetchrow(
                f'SELECT (SELECT count(*) FROM "{schema}".inbox) AS consumed, '  # noqa: S608
                f'EXISTS (SELECT FROM "{schema}".fact_journal) AS unfolded, clock_timestamp() '
                'AS at')
            assert row is not None
            count = row["consumed"]
            if count >= len(events) and not row["unfolded"]:
                break
            await asyncio.sleep(0.05)
        wall = time.perf_counter() - started
        first = await conn.fetchval(
            f'SELECT min(processed_at) FROM "{schema}".inbox')  # noqa: S608
        last = row["at"]
        await conn.close()
        span = (last - first).total_seconds() if first and last else float("nan")
        folds, fold_s = _observed(metrics.FOLD_SECONDS)
        return {"events": count, "wall_s": wall, "per_s_wall": count / wall,
                "span_s": span, "per_s_span": count / span if span else float("nan"),
                "folds": folds - folds0, "fold_s": fold_s - fold_s0}
    finally:
        if runtime is not None:
            await runtime.stop()
        broker.stop()


def _observed(histogram: Any) -> tuple[int, float]:
    """(observations, their sum) of an unlabelled prometheus_client Histogram."""
    count = total = 0.0
    for metric in histogram.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count"):
                count = sample.value
            elif sample.name.endswith("_sum"):
                total = sample.value
    return int(count), total


# -- fill --------------------------------------------------------------------------------

_FILL = """
INSERT INTO case_facts (appeal_id, case_id, case_number, channel, matter_code, category_code,
    priority, county_code, township_code, community_code, grid_code, grid_worker_id,
    unit_id, tier, received_at, registered_at, rejected_at, merged_at, assigned_at,
    last_assigned_at, sign_for_due, resolve_due, signed_at, signed_on_time, returned_at,
    return_count, extension_decided_at, extension_granted, extended_due, escalated_at,
    escalated_to_tier, escalation_count, resolved_at, resolved_on_time, resolved_on_spot,
    called_back_at, callback_solved, callback_satisfaction, reopened_at, reopen_count,
    closed_at, closed_on_time)
SELECT gen_random_uuid(), CASE WHEN reg IS NOT NULL THEN gen_random_uuid() END, 'B' || g,
    channel, matter, category, 'normal', county, township, community, grid,
    CASE WHEN channel = 'grid_app' THEN worker END, unit, tier,
    t0, c(reg), c(rej), c(mer), c(asg), c(asg), c(asg) + interval '2 hours',
    CASE WHEN c(asg) IS NOT NULL THEN due END,
    c(sig), CASE WHEN c(sig) IS NOT NULL THEN sig <= asg + interval '2 hours' END,
    c(ret), CASE WHEN c(ret) IS NOT NULL THEN 1 END,
    c(ext), CASE WHEN c(ext) IS NOT NULL THEN true END,
    CASE WHEN c(ext) IS NOT NULL THEN due + interval '7 days' END,
    c(esc), CASE WHEN c(esc) IS NOT NULL THEN 'county' END,
    CASE WHEN c(esc) IS NOT NULL THEN 1 END,
    c(res), CASE WHEN c(res) IS NOT NULL THEN res <= coalesce(CASE WHEN c(ext) IS NOT NULL
        THEN due + interval '7 days' END, due) END,
    CASE WHEN c(res) IS NOT NULL AND spot THEN true END,
    c(cb), CASE WHEN c(cb) IS NOT NULL THEN u9 < 0.9 END,
    CASE WHEN c(cb) IS NULL THEN NULL WHEN u10 < 0.7 THEN 'satisfied'
         WHEN u10 < 0.9 THEN 'basically_satisfied' ELSE 'not_satisfied' END,
    c(reo), CASE WHEN c(reo) IS NOT NULL THEN 1 END,
    c(clo), CASE WHEN c(clo) IS NOT NULL THEN clo <= coalesce(CASE WHEN c(ext) IS NOT NULL
        THEN due + interval '7 days' END, due) END
FROM (
    SELECT *,
        CASE WHEN reopen THEN reo + interval '24 hours' ELSE res0 END AS res,
        CASE WHEN cb0 IS NULL THEN NULL WHEN reopen THEN reo + interval '30 hours'
             ELSE cb0 END AS cb,
        CASE WHEN res0 IS NOT NULL AND (cb0 IS NOT NULL OR u12 < 0.5)
             THEN greatest(CASE WHEN reopen THEN reo + interval '30 hours' ELSE res0 END,
                           cb0) + interval '2 hours' END AS clo
    FROM (
        SELECT *, CASE WHEN reopen THEN cb0 + interval '1 hour' END AS reo
        FROM (
            SELECT *, cb0 IS NOT NULL AND u9 >= 0.9 AND u11 < 0.5 AS reopen
            FROM (
                SELECT *,
                    CASE WHEN res0 IS NOT NULL AND u8 < 0.8 THEN res0 + interval '6 hours'
                    END AS cb0
                FROM (
                    SELECT *,
                        CASE WHEN asg IS NULL OR u4 >= 0.93 THEN NULL
                             WHEN spot THEN t0 + interval '10 minutes'
                             ELSE t0 + (-ln(1 - u5) * 40) * interval '1 hour' END AS res0,
                        CASE WHEN asg IS NOT NULL THEN asg + u3 * interval '4 hours' END AS sig,
                        CASE WHEN asg IS NOT NULL AND u6 < 0.03 THEN asg + interval '1 hour'
                        END AS ret,
                        CASE WHEN asg IS NOT NULL AND u7 < 0.03 THEN asg + interval '1 day'
                        END AS ext,
                        CASE WHEN asg IS NOT NULL AND u7 > 0.98 THEN asg + interval '12 hours'
                        END AS esc,
                        CASE WHEN asg IS NULL THEN NULL
                             WHEN u2 < 0.05 THEN asg + interval '2 hours'
                             WHEN u2 < 0.15 THEN asg + interval '24 hours'
                             WHEN u2 < 0.85 THEN asg + interval '7 days'
                             ELSE asg + interval '15 days' END AS due
                    FROM (
                        SELECT *,
                            CASE WHEN u1 >= 0.05 THEN t0 + interval '5 minutes' END AS reg,
                            CASE WHEN u1 < 0.03 THEN t0 + interval '10 minutes' END AS rej,
                            CASE WHEN u1 >= 0.03 AND u1 < 0.05 THEN t0 + interval '3 minutes'
                            END AS mer,
                            CASE WHEN u1 >= 0.05 THEN t0 + interval '7 minutes' END AS asg,
                            channel = 'grid_app' AND u6 > 0.9 AS spot
                        FROM (
                            SELECT g, $3::timestamptz - random() * $4 * interval '1 day' AS t0,
                                random() AS u1, random() AS u2, random() AS u3,
                                random() AS u4, random() AS u5, random() AS u6,
                                random() AS u7, random() AS u8, random() AS u9,
                                random() AS u10, random() AS u11, random() AS u12,
                                gr.grid, gr.community, gr.township, gr.county, gr.worker,
                                m.matter, m.category, ch.channel,
                                -- the community's unit (50 %), the township's, the county's
                                CASE WHEN (hashint4(g + 2) & 1023) < 512 THEN gr.unit_c
                                     WHEN (hashint4(g + 2) & 1023) < 820 THEN gr.unit_t
                                     ELSE gr.unit_k END AS unit,
                                CASE WHEN (hashint4(g + 2) & 1023) < 512 THEN gr.tier_c
                                     WHEN (hashint4(g + 2) & 1023) < 820 THEN gr.tier_t
                                     ELSE gr.tier_k END AS tier
                            FROM generate_series($1::int, $2::int) g
                            JOIN bench_grids gr ON gr.i = (hashint4(g) & 2147483647)
                                % (SELECT count(*) FROM bench_grids)
                            JOIN bench_matters m ON m.i = (hashint4(g + 1) & 2147483647)
                                % (SELECT count(*) FROM bench_matters)
                            JOIN bench_channels ch ON ch.i = (hashint4(g + 3) & 2147483647)
                                % (SELECT count(*) FROM bench_channels)
                        ) s0
                    ) s1
                ) s2
            ) s3
        ) s4
    ) s5
) s6
"""

# Moments after the fill's "now" did not happen yet: c(x) is x if it is in the past
# (functions in pg_temp are only found schema-qualified).
_FILL = re.sub(r"\bc\(", "pg_temp.c(", _FILL)
_CLAMP = """
CREATE OR REPLACE FUNCTION pg_temp.c(t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN t <= '{now}'::timestamptz THEN t END $$
"""

#: the indexes of case_facts dropped during the fill and built again after it (much faster
#: than row by row), as the migrations define them
_INDEXES = ("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = 'case_facts' AND indexname <> 'case_facts_pkey'")


async def _fill_session(conn: asyncpg.Connection, ref: dict[str, list[tuple[str, ...]]]
                        ) -> None:
    """The fill's reference tables and clamp function (temporary: one per session)."""
    for name, cols in (("bench_grids", "grid text, community text, township text, "
                                        "county text, worker text, unit_c text, tier_c text, "
                                        "unit_t text, tier_t text, unit_k text, tier_k text"),
                       ("bench_matters", "matter text, category text"),
                       ("bench_channels", "channel text")):
        await conn.execute(f"CREATE TEMP TABLE {name} (i int PRIMARY KEY, {cols})")
        rows = ref[name.removeprefix("bench_")]
        await conn.copy_records_to_table(name, records=[(i, *r) for i, r in enumerate(rows)])
    await conn.execute(_CLAMP.format(now=NOW.isoformat()))
    await conn.execute("SET jit = off")


async def _in_parallel(conns: Sequence[asyncpg.Connection],
                       statements: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
    """Run the statements spread over the connections (one per connection at a time;
    each its own transaction)."""
    todo = list(statements)

    async def worker(conn: asyncpg.Connection) -> None:
        while todo:
            sql, args = todo.pop(0)
            await conn.execute(sql, *args)

    await asyncio.gather(*(worker(c) for c in conns))


async def _rollups_in_parallel(conns: Sequence[asyncpg.Connection],
                               chunk: timedelta = timedelta(days=7)) -> None:
    """``rebuild_rollups``' statements, the chunks spread over several connections: the
    same SQL and the same sums (upserts add up in any order; rows are locked in key order,
    so concurrent chunks wait for each other but cannot deadlock). Not one transaction:
    for the benchmark's store, which nothing else writes meanwhile."""
    main = conns[0]
    await main.execute(f"TRUNCATE {', '.join(ROLLUP_TABLES)}")
    first, last = await main.fetchrow("SELECT min(received_at), max(received_at) "
                                      "FROM case_facts") or (None, None)
    for c in conns:
        await c.execute("SET work_mem = '512MB'")
    chunks = []
    lo = first
    while lo is not None and lo <= last:
        chunks.append((lo, lo + chunk, False))
        lo += chunk
    chunks.append((None, None, True))
    statements = (rebuild_buckets_sql(), rebuild_fine_sql())
    await _in_parallel(conns, [(sql, c) for c in chunks for sql in statements])
    await main.execute(rebuild_now_sql())
    await main.execute("UPDATE rollup_state SET ready = true")


async def fill(dsn: str, schema: str, cases: int, days: float,
               ref: dict[str, list[tuple[str, ...]]], jobs: int = 1,
               chunk: int = 250_000) -> dict[str, float]:
    """N cases received over the last ``days`` days; their later moments where they are in
    the past (so recent cases are still open); about 7 % never resolved. ``jobs``
    connections work at once (the facts' chunks, then the rollups' chunks)."""
    conns = [await asyncpg.connect(dsn, server_settings={"search_path": schema})
             for _ in range(max(1, jobs))]
    try:
        timings = {}
        main = conns[0]
        for c in conns:
            await _fill_session(c, ref)
        indexes = await main.fetch(_INDEXES)
        for r in indexes:
            await main.execute(f'DROP INDEX "{r["indexname"]}"')
        t = time.perf_counter()
        await _in_parallel(conns, [(_FILL, (lo, min(cases, lo + chunk - 1), NOW, days))
                                   for lo in range(1, cases + 1, chunk)])
        timings["facts_s"] = time.perf_counter() - t
        t = time.perf_counter()
        await _in_parallel(conns, [(r["indexdef"], ()) for r in indexes])
        await main.execute("VACUUM ANALYZE case_facts")
        timings["indexes_s"] = time.perf_counter() - t
        t = time.perf_counter()
        if len(conns) == 1:
            async with main.transaction():
                await rebuild_rollups(main)  # the service's own path, one transaction
        else:
            await _rollups_in_parallel(conns)
        for table in ROLLUP_TABLES:
            await main.execute(f"VACUUM ANALYZE {table}")
        timings["rollups_s"] = time.perf_counter() - t
        return timings
    finally:
        for c in conns:
            await c.close()


# -- queries -----------------------------------------------------------------------------

def _queries(now: datetime, ref: dict[str, list[tuple[str, ...]]]
             ) -> list[tuple[str, IndicatorQuery]]:
    tz = view_settings(AnalyticsSettings()).tz
    county = ref["grids"][0][3]
    township = ref["grids"][0][2]
    matter = ref["matters"][0][0]
    d30, d7, today = bounds(Window.D30, now, tz), bounds(Window.D7, now, tz), \
        bounds(Window.TODAY, now, tz)
    year = (bounds(Window.TODAY, now - timedelta(days=364), tz)[0], today[1])
    return [
        ("today, total", IndicatorQuery(*today, now)),
        ("30d by county", IndicatorQuery(*d30, now, Dimension.COUNTY)),
        ("30d by township, county=", IndicatorQuery(*d30, now, Dimension.TOWNSHIP,
                                                    {Dimension.COUNTY: county})),
        ("30d by township", IndicatorQuery(*d30, now, Dimension.TOWNSHIP)),  # the dashboard's
        ("30d by matter", IndicatorQuery(*d30, now, Dimension.MATTER)),
        ("365d by matter", IndicatorQuery(*year, now, Dimension.MATTER)),
        ("ytd by category", IndicatorQuery(*bounds(Window.YTD, now, tz), now,
                                           Dimension.CATEGORY)),
        ("30d by county, matter=", IndicatorQuery(*d30, now, Dimension.COUNTY,
                                                  {Dimension.MATTER: matter})),
        ("30d by unit", IndicatorQuery(*d30, now, Dimension.UNIT)),
        ("7d by community, township=", IndicatorQuery(*d7, now, Dimension.COMMUNITY,
                                                      {Dimension.TOWNSHIP: township})),
        ("30d by grid worker", IndicatorQuery(*d30, now, Dimension.GRID_WORKER)),
        ("30d by grid", IndicatorQuery(*d30, now, Dimension.GRID)),
        ("all time by county", IndicatorQuery(None, None, now, Dimension.COUNTY)),
        ("365d by grid", IndicatorQuery(*year, now, Dimension.GRID)),
    ]


async def query_times(pool: asyncpg.Pool, schema: str, q: IndicatorQuery, n: int,
                      path: QueryPath | None = None) -> tuple[float, float, str, int]:
    """p50 and p99 (ms) of ``n`` runs (a tenth of them, at least 10, when the first run
    takes over half a second: the slow ones would take minutes), the path, the runs."""
    cfg = view_settings(AnalyticsSettings())
    times: list[float] = []
    source = ""
    for i in range(n):
        if i == 1 and times[0] > 500:
            n = max(10, n // 10)
        if i >= n:
            break
        t = time.perf_counter()
        async with AnalyticsUnitOfWork(pool, schema, SOURCE) as uow:
            out = await views.indicators(uow, q, cfg, path)
        times.append((time.perf_counter() - t) * 1000)
        source = out["source"]
    times.sort()
    # p99: the value below which 99 % of the runs fall (nearest rank)
    p99 = times[min(len(times) - 1, max(0, -(-99 * len(times) // 100) - 1))]
    return statistics.median(times), p99, source, len(times)


@contextlib.contextmanager
def _own_postgres() -> Iterator[str]:
    """A PostgreSQL cluster for this run only: started on a free port in a temporary
    directory, stopped and removed on the way out (also after an error)."""
    from civicgrid_stack.postgres import PostgresCluster

    data = Path(tempfile.mkdtemp(prefix="analytics-bench-pg-"))
    cluster = PostgresCluster(data / "pg", _free_port())
    try:
        cluster.start()
        print(f"PostgreSQL {cluster.dsn()} (pid {cluster.postmaster_pid()})", flush=True)
        yield cluster.dsn()
    finally:
        cluster.stop()
        shutil.rmtree(data, ignore_errors=True)


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    ap.add_argument("--dsn", help="an existing PostgreSQL (default: start one of its own)")
    ap.add_argument("--no-facts", action="store_true",
                    help="query phase: only the default path, not the facts after it")
    ap.add_argument("--schema", default="analytics_bench")
    ap.add_argument("--phases", default="ingest,fill,query")
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--days", type=float, default=365.0, help="the fill's cases span")
    ap.add_argument("--ingest-appeals", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--order", choices=("grouped", "shuffled", "timeline"), default="grouped")
    ap.add_argument("--appeals-per-hour", type=int, default=None,
                    help="the appeals' density in event time (default: one an hour, cycling "
                         "over 2,000 hours)")
    ap.add_argument("--events", choices=("original", "reference"), default="original",
                    help="the ingest events' dimension values (see _events)")
    ap.add_argument("--fold-after", action="store_true",
                    help="ingest phase: first consume everything, then fold it, each timed "
                         "on its own (then the usual run, on an empty store)")
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--query", action="append", metavar="NAME",
                    help="query phase: only this query (by its name, e.g. '30d by county'; "
                         "repeatable)")
    ap.add_argument("--jobs", type=int, default=1,
                    help="connections filling at once (1: the rollups in one transaction, "
                         "as the service rebuilds them)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    a = ap.parse_args()
    with contextlib.ExitStack() as stack:
        if a.dsn is None:
            a.dsn = stack.enter_context(_own_postgres())
        await _run(a)


async def _run(a: argparse.Namespace) -> None:
    phases = a.phases.split(",")
    ref = _reference()
    report: dict[str, Any] = {"args": vars(a) | {"json": str(a.json)},
                              "started": NOW.isoformat()}
    conn = await asyncpg.connect(a.dsn)
    if "ingest" in phases or "fill" in phases:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{a.schema}" CASCADE')
        await migrate(a.dsn, a.schema, MIGRATIONS)
    pool = await create_pool(a.dsn, a.schema, 2, 4)
    events: list[OutgoingEvent] = []
    if "ingest" in phases or "broker" in phases:
        events = _events(a.ingest_appeals, ref, shape=a.events, per_hour=a.appeals_per_hour,
                         timeline=a.order == "timeline")
        if a.order == "shuffled":
            random.Random(2).shuffle(events)
    if "ingest" in phases:
        warm = _events(200, ref, seed=3, shape=a.events, per_hour=a.appeals_per_hour)
        await ingest(pool, a.schema, warm, a.batch)  # statements prepared
        heap.settle()  # as the service does once started
        if a.fold_after:
            r = await ingest(pool, a.schema, events, a.batch, fold_after=True)
            report["ingest_then_fold"] = r
            for side in ("consume", "fold"):
                cpu = r[f"{side}_python_cpu_us_per_event"] + r[f"{side}_postgres_cpu_us_per_event"]
                print(f"{side} alone ({a.events}, {a.order}): {r[f'{side}_events_per_s']:,.0f} "
                      f"events/s; CPU per event: Python "
                      f"{r[f'{side}_python_cpu_us_per_event']:.0f} us + PostgreSQL "
                      f"{r[f'{side}_postgres_cpu_us_per_event']:.0f} us = {cpu:.0f} us",
                      flush=True)
            await conn.execute(f'DROP SCHEMA IF EXISTS "{a.schema}" CASCADE')
            await migrate(a.dsn, a.schema, MIGRATIONS)
            await pool.expire_connections()
            await ingest(pool, a.schema, warm, a.batch)
        r = await ingest(pool, a.schema, events, a.batch)
        report["ingest"] = r
        cpu = r["python_cpu_us_per_event"] + r["postgres_cpu_us_per_event"]
        print(f"ingest ({a.events}, {a.order}, batches of {a.batch}): "
              f"{r['events_per_s']:,.0f} events/s ({r['events']} events); CPU per event: "
              f"Python {r['python_cpu_us_per_event']:.0f} us + PostgreSQL "
              f"{r['postgres_cpu_us_per_event']:.0f} us = {cpu:.0f} us", flush=True)
    if "broker" in phases:
        r = await through_broker(a.dsn, f"{a.schema}_broker", events, a.batch)
        report["broker"] = r
        print(f"broker ({a.order}): {r['per_s_span']:,.0f} events/s first commit to last fold "
              f"({r['span_s']:.1f} s); {r['per_s_wall']:,.0f} events/s from the runtime's "
              f"start incl. group join ({r['wall_s']:.1f} s), {r['events']} events; "
              f"{r['folds']} folds ({r['events'] / max(r['folds'], 1):,.0f} events, "
              f"{1000 * r['fold_s'] / max(r['folds'], 1):,.0f} ms each on average)",
              flush=True)
    if "fill" in phases:
        await conn.execute(f'SET search_path = "{a.schema}"')
        await conn.execute(f'TRUNCATE "{a.schema}".case_facts')
        t = time.perf_counter()
        timings = await fill(a.dsn, a.schema, a.cases, a.days, ref, a.jobs)
        report["fill"] = timings | {"cases": a.cases, "total_s": time.perf_counter() - t}
        sizes = await conn.fetchrow(
            "SELECT pg_total_relation_size('case_facts') AS facts, "
            "(SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits "
            " WHERE inhparent = 'indicator_days'::regclass) AS days, "
            "(SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits "
            " WHERE inhparent = 'indicator_months'::regclass) AS months, "
            "(SELECT count(*) FROM indicator_days) AS day_rows")
        assert sizes is not None
        report["fill"] |= dict(sizes)
        print(f"filled {a.cases:,} cases: facts {timings['facts_s']:.0f} s, indexes "
              f"{timings['indexes_s']:.0f} s, rollups {timings['rollups_s']:.0f} s; "
              f"case_facts {sizes['facts'] / 2**30:.2f} GiB, indicator_days "
              f"{sizes['days'] / 2**30:.2f} GiB ({sizes['day_rows']:,} rows)", flush=True)
    if "query" in phases:
        now = datetime.now(UTC)
        report["queries"] = {}
        # The last one from the facts, for contrast: a window not at a city-local midnight.
        queries = [*_queries(now, ref), ("24h (not midnight) by county", IndicatorQuery(
            now - timedelta(hours=24), now, now, Dimension.COUNTY))]
        print(f"load average before the queries: {_load()}", flush=True)
        if a.query:
            unknown = set(a.query) - {name for name, _ in queries}
            if unknown:
                raise SystemExit(f"unknown --query {sorted(unknown)}; the queries are: "
                                 + "; ".join(name for name, _ in queries))
            queries = [(name, q) for name, q in queries if name in a.query]
        for name, q in queries:
            paths: list[QueryPath | None] = [None]
            if not a.no_facts:
                paths.append("facts")
            for path in paths:
                if path == "facts" and report["queries"][name]["source"] == "facts":
                    break  # the default path was the facts already
                p50, p99, source, runs = await query_times(pool, a.schema, q, a.runs, path)
                report["queries"].setdefault(name, {"p50_ms": p50, "p99_ms": p99,
                                                    "source": source, "runs": runs})
                report["queries"][name][f"{source}_p50_ms"] = p50
                report["queries"][name][f"{source}_p99_ms"] = p99
                print(f"query {name:30s} p50 {p50:8.1f} ms   p99 {p99:8.1f} ms   ({source}, "
                      f"{runs} runs)", flush=True)
        print(f"load average after the queries: {_load()}", flush=True)
    await pool.close()
    await conn.close()
    if a.json:
        a.json.write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
    sys.exit(0)
