"""Rollups against the facts on a real PostgreSQL: random case histories (reassigned,
extended, reopened, moved to another territory, some events twice), delivered in random
order and batches through analytics' own consumer and folded by its projection (also
while it consumes); then every query the rollups answer
must give exactly the figures the fact-based query gives (counts, rates and the median),
and the set-based rebuild must give the same rollup rows as
the incremental writes (and the service's start fills rollups that lack facts)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Iterator
from datetime import date, datetime, timedelta
from typing import Any, TypeVar, cast

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from civicgrid_analytics.adapters.indicator_sql import IndicatorQuery
from civicgrid_analytics.adapters.rollup_sql import ROLLUP_TABLES
from civicgrid_analytics.adapters.rollup_store import rebuild_rollups
from civicgrid_analytics.bootstrap import (
    CONSUMER,
    MIGRATIONS,
    AnalyticsSettings,
    handlers,
    view_settings,
)
from civicgrid_analytics.contracts import TOPICS
from civicgrid_analytics.domain import rollups
from civicgrid_analytics.domain.indicators import COUNT_FIELDS, RATES, Dimension
from civicgrid_analytics.domain.windows import Window, bounds
from civicgrid_analytics.runtime import AnalyticsRuntime
from civicgrid_analytics.service_layer import views
from civicgrid_analytics.service_layer.projection import FactProjection
from civicgrid_analytics.service_layer.unit_of_work import AnalyticsUnitOfWork
from civicgrid_shared.contracts.envelope import OutgoingEvent
from civicgrid_shared.contracts.events import CaseHandedOver, CaseReturned, TerritoryRef
from civicgrid_shared.contracts.topics import CASES
from civicgrid_shared.db.migrate import migrate
from civicgrid_shared.db.pool import Conn, create_pool
from civicgrid_shared.messaging.consumer import BatchConsumer
from civicgrid_shared.messaging.deadletter import DeadLetterPublisher
from prometheus_client import REGISTRY

from tests.integration.analytics_helpers import (
    SCENARIO_NOW,
    event,
    history,
    records,
)

pytestmark = pytest.mark.integration

TZ = "Asia/Shanghai"
NOW = SCENARIO_NOW
COMPARED = (*COUNT_FIELDS, "accepted", *RATES)


_DSN: list[str] = []  # the test's PostgreSQL, for _where_waiting
T = TypeVar("T")


@pytest.fixture
def dsn(request: pytest.FixtureRequest) -> Iterator[str]:
    """The session stack's PostgreSQL, or ``CIVICGRID_TEST_PG_DSN`` (a cluster of one's
    own, for running this file alone without the whole stack)."""
    own = os.environ.get("CIVICGRID_TEST_PG_DSN")
    url = own or request.getfixturevalue("stack").postgres.dsn()
    _DSN[:] = [url]
    yield url


@pytest.fixture
async def pool(dsn: str) -> AsyncIterator[tuple[asyncpg.Pool, str]]:
    schema = f"analytics_rollups_{uuid.uuid4().hex[:8]}"
    await migrate(dsn, schema, MIGRATIONS)
    p = await create_pool(dsn, schema, 1, 4)
    try:
        yield p, schema
    finally:
        await p.close()
        conn = await asyncpg.connect(dsn)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


class _Dead:
    async def send(self, *args: Any) -> None:
        raise AssertionError("nothing should be dead-lettered")


async def _deliver(pool: asyncpg.Pool, schema: str, events: list[OutgoingEvent],
                   rnd: random.Random, mixed: bool = False) -> None:
    """Two consumers at once, as two instances of analytics sharing the partitions (an
    appeal's events stay with one, in order): their batches meet on the same rollup rows
    (today's total, a county's day), which must neither deadlock nor lose a count.
    ``mixed``: each event goes to either consumer, so that both write the same appeals'
    facts at once all along (in the stack, the appeals topic is keyed by appeal and the
    cases topic by case: two instances can hold the two halves of one appeal)."""
    lanes: list[list[OutgoingEvent]] = [[], []]
    for e in events:
        lane = rnd.randrange(2) if mixed else zlib.crc32(e.key.encode()) % 2
        lanes[lane].append(e)
    # Each instance folds too, while both consume: the folds take turns (one at a time per
    # store), of a few journal rows or of many, and one cancelled mid-fold at the end
    # leaves its rows to the next.
    projections = [FactProjection(lambda: AnalyticsUnitOfWork(pool, schema, "/test"),
                                  max_rows=rnd.choice([1, 3, 50])) for _ in lanes]

    def appended() -> None:
        for projection in projections:
            projection.wake()

    def make_uow() -> AnalyticsUnitOfWork:
        return AnalyticsUnitOfWork(pool, schema, "/test", journal_appended=appended)

    async def one(share: list[OutgoingEvent], seed: int) -> None:
        consumer: BatchConsumer[AnalyticsUnitOfWork] = BatchConsumer(
            CONSUMER, handlers(AnalyticsSettings()).routes(), make_uow,
            cast(DeadLetterPublisher, _Dead()))
        sizes = random.Random(seed)
        recs = records(share)
        i = 0
        while i < len(recs):
            n = sizes.choice([1, 7, 50, 300])
            await consumer.process(recs[i:i + n])
            i += n

    folding = [asyncio.create_task(p.run()) for p in projections]
    try:
        await _within(asyncio.gather(one(lanes[0], rnd.randrange(1 << 30)),
                                     one(lanes[1], rnd.randrange(1 << 30))), "the consumers")
    finally:
        for task in folding:
            task.cancel()
        await _within(asyncio.gather(*folding, return_exceptions=True), "the projections' end")
    await _within(_fold(pool, schema), "the last fold")


async def _within(aw: Awaitable[T], what: str, seconds: float = 120) -> T:
    """``aw``, or a failure after ``seconds`` that says where everything waits, instead of
    a bare timeout (it showed a projection loop that outlived its cancel: ``aio``)."""
    task = asyncio.ensure_future(aw)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if done:
        return task.result()
    where = await _where_waiting()  # before the cancel unwinds the stacks
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    raise AssertionError(f"{what}: no end after {seconds} s\n{where}")


async def _where_waiting() -> str:
    """The test's asyncio tasks and their stacks, the database's sessions, and the locks
    not granted."""
    out = []
    for task in asyncio.all_tasks():
        stack = io.StringIO()
        task.print_stack(limit=8, file=stack)
        out.append(stack.getvalue())
    if _DSN:
        conn = await asyncpg.connect(_DSN[0])
        try:
            out += [str(dict(r)) for r in await conn.fetch(
                "SELECT pid, state, wait_event_type, wait_event, now() - xact_start AS xact, "
                "left(query, 300) AS query FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")]
            out += [str(dict(r)) for r in await conn.fetch(
                "SELECT locktype, relation::regclass::text AS relation, mode, pid "
                "FROM pg_locks WHERE NOT granted")]
        finally:
            await conn.close()
    return "\n".join(out)


async def _fold(pool: asyncpg.Pool, schema: str) -> None:
    """Fold what the journal holds (the service's projection does it as it goes)."""
    await FactProjection(lambda: AnalyticsUnitOfWork(pool, schema, "/test")).catch_up()
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM fact_journal") == 0


def _midnight(d: date) -> datetime:
    return rollups.midnight(d, TZ)


def _queries(ref: dict[str, list[str]], now: datetime = NOW) -> list[IndicatorQuery]:
    today = rollups.day_of(now, TZ)
    windows: list[tuple[datetime | None, datetime | None]] = [
        (None, None), bounds(Window.TODAY, now, TZ), bounds(Window.D7, now, TZ),
        bounds(Window.D30, now, TZ), bounds(Window.YTD, now, TZ),
        (_midnight(date(2025, 1, 15)), _midnight(date(2025, 3, 10))),  # across months
        (_midnight(date(2024, 12, 1)), None), (None, _midnight(date(2025, 2, 1))),
        (_midnight(today - timedelta(days=3)), _midnight(today + timedelta(days=9))),
    ]
    county, township, matter, unit = (ref["counties"][0], ref["townships"][0],
                                      ref["matters"][0], ref["units"][0])
    grouped: list[tuple[Dimension | None, dict[Dimension, str]]] = [
        (None, {}), *((d, {}) for d in Dimension),
        (Dimension.TOWNSHIP, {Dimension.COUNTY: county}),
        (Dimension.GRID, {Dimension.COUNTY: county}),
        (Dimension.MATTER, {Dimension.COUNTY: county}),
        (Dimension.COUNTY, {Dimension.MATTER: matter}),
        (Dimension.GRID, {Dimension.TOWNSHIP: township}),
        (Dimension.GRID_WORKER, {Dimension.TOWNSHIP: township}),  # mostly the null key
        (Dimension.HISTORY_SOURCE, {Dimension.COUNTY: county}),  # only the null key
        (Dimension.TOWNSHIP, {Dimension.COMMUNITY: ref["communities"][0]}),
        (None, {Dimension.UNIT: unit}), (Dimension.UNIT, {Dimension.UNIT: unit}),
        (None, {Dimension.COUNTY: county}),
    ]
    return [IndicatorQuery(s, e, now, g, f) for s, e in windows for g, f in grouped]


def _same(a: dict[str, Any], b: dict[str, Any], what: str) -> None:
    """Every count, rate and the median: the rollups serve what the facts serve."""
    assert {k: a[k] for k in (*COMPARED, "median_handling_hours")} == \
        {k: b[k] for k in (*COMPARED, "median_handling_hours")}, what


async def _rows(conn: Conn, table: str, counters: list[str]
                ) -> list[tuple[Any, ...]]:
    keys = [c for c in ("dim", "bin", "bucket", "deadline_day", "key", "county_code",
                        "township_code") if c in await _columns(conn, table)]
    nonzero = " OR ".join(f"coalesce({c}, 0) <> 0" for c in counters)
    values = ", ".join(f"coalesce({c}, 0)" for c in counters)
    sql = f"SELECT {', '.join(keys)}, {values} FROM {table} WHERE {nonzero} "  # noqa: S608
    rows = await conn.fetch(sql + f"ORDER BY {', '.join(keys)}")
    return [tuple(r) for r in rows]


async def _columns(conn: Conn, table: str) -> list[str]:
    return [r[0] for r in await conn.fetch(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = $1", table)]


async def _snapshot(conn: Conn) -> dict[str, list[tuple[Any, ...]]]:
    buckets = [*rollups.COUNTER_NAMES, *rollups.BIN_NAMES]
    return {
        "days": await _rows(conn, "indicator_days", buckets),
        "months": await _rows(conn, "indicator_months", buckets),
        "open": await _rows(conn, "indicator_open", ["open", "pending"]),
        "deadlines": await _rows(conn, "indicator_deadlines", ["pending"]),
        "fine": await _rows(conn, "indicator_fine", list(rollups.PART_NAMES)),
    }


async def _rollups_as_facts(uow: AnalyticsUnitOfWork, q: IndicatorQuery) -> dict[str, Any]:
    """The rollups' answer to ``q``, after checking it is the facts' answer."""
    cfg = view_settings(AnalyticsSettings())
    a = await views.indicators(uow, q, cfg, "rollups")
    b = await views.indicators(uow, q, cfg, "facts")
    what = f"{q.start}..{q.end} by {q.group_by} where {q.filters}"
    _same(a["total"], b["total"], what)
    assert [r["key"] for r in a["rows"]] == [r["key"] for r in b["rows"]], what
    for ra, rb in zip(a["rows"], b["rows"], strict=True):
        _same(ra, rb, f"{what}: {ra['key']}")
    return a


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_rollups_answer_exactly_what_the_facts_answer(
        pool: tuple[asyncpg.Pool, str], seed: int) -> None:
    p, schema = pool
    rnd = random.Random(seed)
    events, ref = history(rnd, cases=160)
    await _deliver(p, schema, events, rnd)
    cfg = view_settings(AnalyticsSettings())
    checked = 0
    async with AnalyticsUnitOfWork(p, schema, "/test") as uow:
        assert await uow.conn.fetchval("SELECT count(*) FROM case_facts") == 160
        for q in _queries(ref):
            a = await _rollups_as_facts(uow, q)
            what = f"{q.start}..{q.end} by {q.group_by} where {q.filters}"
            if checked % 10 == 0:  # without the median (the rankings): the same counts
                c = await views.indicators(uow, q, cfg, "rollups", median=False)
                for rc, ra in zip([c["total"], *c["rows"]], [a["total"], *a["rows"]],
                                  strict=True):
                    assert rc["median_handling_hours"] is None, what
                    assert {k: rc[k] for k in COMPARED} == {k: ra[k] for k in COMPARED}, what
            checked += 1
        # The rankings ask for a few counts only: their fields are the facts' all the same.
        for q in _queries(ref):
            if q.group_by not in (Dimension.UNIT, Dimension.GRID_WORKER):
                continue
            a = await views.indicators(uow, q, cfg, "rollups", median=False,
                                       counts=views.RANKING_COUNTS)
            b = await views.indicators(uow, q, cfg, "facts")
            facts_rows = {r["key"]: r for r in b["rows"]}
            what = f"{q.start}..{q.end} by {q.group_by} where {q.filters}, ranking fields"
            assert a["rows"] and {r["key"] for r in a["rows"]} <= set(facts_rows), what
            for r in a["rows"]:
                assert {f: r[f] for f in views.RANKING_FIELDS} == \
                    {f: facts_rows[r["key"]][f] for f in views.RANKING_FIELDS}, what
            checked += 1
        # One count alone (no part that depends on now): the same count.
        q = _queries(ref)[0]
        one = await views.indicators(uow, q, cfg, "rollups", median=False,
                                     counts=frozenset({"received"}))
        whole = await views.indicators(uow, q, cfg, "facts")
        assert one["total"]["received"] == whole["total"]["received"] > 0
        # After noon, today's due figures are today's day row less the deadlines still to
        # come (before it, the deadlines passed): the same answers. Asked as on a day with
        # a deadline in the afternoon, at 13:00 (one is still to come) and at 23:59.
        due = await uow.conn.fetchval(
            "SELECT min(deadline_at) FROM case_facts WHERE registered_at IS NOT NULL "
            "AND extract(hour FROM deadline_at AT TIME ZONE $1) >= 14", TZ)
        day = _midnight(rollups.day_of(due, TZ))
        for later in (day + timedelta(hours=13), day + timedelta(hours=23, minutes=59)):
            for q in _queries(ref, later)[::2]:
                await _rollups_as_facts(uow, q)
                checked += 1
        # The default path picks the rollups for these, the facts for the others.
        assert (await views.indicators(uow, _queries(ref)[0], cfg))["source"] == "rollups"
        county, unit = ref["counties"][0], ref["units"][0]
        # A window the buckets cannot answer: its counts from the facts, the now figures
        # from the rollups, and the same answer as the facts alone.
        for start, end in [(NOW - timedelta(hours=5), NOW), (None, NOW - timedelta(hours=2)),
                           (NOW - timedelta(days=40, hours=3), NOW + timedelta(hours=1))]:
            for group_by, filters in [
                    (None, {}), (Dimension.COUNTY, {}), (Dimension.MATTER, {}),
                    (Dimension.UNIT, {}), (Dimension.TOWNSHIP, {Dimension.COUNTY: county}),
                    (Dimension.GRID, {Dimension.TOWNSHIP: ref["townships"][0]})]:
                odd = IndicatorQuery(start, end, NOW, group_by, filters)
                a = await views.indicators(uow, odd, cfg)
                b = await views.indicators(uow, odd, cfg, "facts")
                what = f"{start}..{end} by {group_by} where {filters}"
                assert a["source"] == "facts+rollups", what
                _same(a["total"], b["total"], what)
                assert [r["key"] for r in a["rows"]] == [r["key"] for r in b["rows"]], what
                for ra, rb in zip(a["rows"], b["rows"], strict=True):
                    _same(ra, rb, f"{what}: {ra['key']}")
        two = IndicatorQuery(NOW - timedelta(hours=5), NOW, NOW, Dimension.COUNTY,
                             {Dimension.MATTER: ref["matters"][0], Dimension.UNIT: unit})
        assert (await views.indicators(uow, two, cfg))["source"] == "facts"
        # The gauges and the dashboard's trend read the rollups too.
        gauges = await uow.facts.open_by_tier(NOW)
        await uow.conn.execute("UPDATE rollup_state SET ready = false")
        assert await uow.facts.open_by_tier(NOW) == gauges
        month = bounds(Window.D30, NOW, TZ)
        facts_trend = await uow.facts.daily_trend(*month, TZ, {})
        await uow.conn.execute("UPDATE rollup_state SET ready = true")
        assert await uow.facts.daily_trend(*month, TZ, {}) == facts_trend
    assert checked > 100


async def test_the_set_based_rebuild_gives_the_incremental_rollups(
        pool: tuple[asyncpg.Pool, str]) -> None:
    p, schema = pool
    rnd = random.Random(9)
    events, _ = history(rnd, cases=200)
    await _deliver(p, schema, events, rnd)
    async with p.acquire() as conn:
        incremental = await _snapshot(conn)
        assert incremental["days"] and incremental["open"] and incremental["deadlines"]
        assert incremental["fine"]
        async with conn.transaction():
            await conn.execute("UPDATE rollup_state SET ready = false")
            read = await rebuild_rollups(conn, chunk=timedelta(days=9))
        assert read == 200
        assert await conn.fetchval("SELECT ready FROM rollup_state") is True
        assert await _snapshot(conn) == incremental
        # A store whose rollups do not hold its facts (as after migration 0104 on a store
        # with facts): the service's runtime fills them before any consumer starts.
        await conn.execute(f"TRUNCATE {', '.join(ROLLUP_TABLES)}")
        await conn.execute("UPDATE rollup_state SET ready = false")
    runtime = AnalyticsRuntime("analytics", schema, AnalyticsSettings(), MIGRATIONS,
                               topics=TOPICS)
    await runtime.prepare_store(p)
    async with p.acquire() as conn:
        assert await conn.fetchval("SELECT ready FROM rollup_state") is True
        assert await _snapshot(conn) == incremental
    await runtime.prepare_store(p)  # ready: nothing to do (and nothing changes)
    async with p.acquire() as conn:
        assert await _snapshot(conn) == incremental


async def test_a_store_without_fine_rows_answers_exactly_and_fills_them_at_start(
        pool: tuple[asyncpg.Pool, str]) -> None:
    """As after migration 0105 on a store with facts: the rollups are ready but the fine
    histogram rows are not. The medians are still exact (whole bins are read), and the
    service's start fills the fine rows only, to what the writes made."""
    p, schema = pool
    rnd = random.Random(13)
    events, ref = history(rnd, cases=150)
    await _deliver(p, schema, events, rnd)
    async with p.acquire() as conn:
        incremental = await _snapshot(conn)
        assert incremental["fine"]
        await conn.execute("TRUNCATE indicator_fine")
        await conn.execute("UPDATE rollup_state SET fine_ready = false")
    async with AnalyticsUnitOfWork(p, schema, "/test") as uow:
        for q in _queries(ref)[:40]:
            await _rollups_as_facts(uow, q)
    runtime = AnalyticsRuntime("analytics", schema, AnalyticsSettings(), MIGRATIONS,
                               topics=TOPICS)
    await runtime.prepare_store(p)
    async with p.acquire() as conn:
        assert await conn.fetchval("SELECT fine_ready FROM rollup_state") is True
        assert await _snapshot(conn) == incremental


async def test_two_consumers_writing_the_same_facts_at_once_lose_no_count(
        pool: tuple[asyncpg.Pool, str]) -> None:
    """The events of the same appeals through two consumers at once, each instance's
    projection folding the journal as they go. The rollups must be
    what the set-based rebuild makes of the facts (nothing lost, nothing twice), and the
    facts what one consumer makes of the events."""
    p, schema = pool
    rnd = random.Random(11)
    events, _ = history(rnd, cases=200)
    await _deliver(p, schema, events, rnd, mixed=True)
    async with p.acquire() as conn:
        incremental = await _snapshot(conn)
        facts = [dict(r) for r in await conn.fetch("SELECT * FROM case_facts ORDER BY 1")]
        async with conn.transaction():
            await rebuild_rollups(conn, chunk=timedelta(days=9))
            assert await _snapshot(conn) == incremental
        await conn.execute(
            f"TRUNCATE case_facts, inbox, fact_journal, {', '.join(ROLLUP_TABLES)}")
    await _consumer(p, schema).process(records(events))
    await _fold(p, schema)
    async with p.acquire() as conn:
        assert [dict(r) for r in await conn.fetch("SELECT * FROM case_facts ORDER BY 1")] \
            == facts
        assert await _snapshot(conn) == incremental


async def test_a_redelivered_batch_counts_once(pool: tuple[asyncpg.Pool, str]) -> None:
    p, schema = pool
    rnd = random.Random(5)
    events, _ = history(rnd, cases=40)
    await _deliver(p, schema, events, rnd)
    async with p.acquire() as conn:
        before = await _snapshot(conn)
    await _deliver(p, schema, events, rnd)  # the same event ids again
    async with p.acquire() as conn:
        assert await _snapshot(conn) == before


async def test_the_facts_a_rollup_answer_reads_come_from_the_index_alone(
        pool: tuple[asyncpg.Pool, str]) -> None:
    """The median's fine bins, due today and pending later today are read index-only:
    the indexes of migrations 0105 and 0107 carry every column those reads use. (A column added to
    a read but not to its index makes it visit the heap again: at 10 million cases that
    was most of a query's time.)"""
    from civicgrid_analytics.adapters.rollup_sql import rollup_query

    p, schema = pool
    rnd = random.Random(5)
    events, ref = history(rnd, cases=120)
    await _deliver(p, schema, events, rnd)
    async with p.acquire() as conn:
        await conn.execute("VACUUM ANALYZE case_facts")  # marks the pages all-visible
        # The tables are tiny: without this the planner reads them whole.
        await conn.execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
        start, end = bounds(Window.D30, NOW, TZ)
        # each grouping, and the index its median's facts are read through besides the
        # deadline ones (a matter's own facts: migration 0107)
        handling, matter, township = ("case_facts_handling", "case_facts_matter_handling",
                                      "case_facts_township_handling")
        county = ref["counties"][0]
        cases: list[tuple[Dimension | None, dict[Dimension, str], set[str]]] = [
            (Dimension.COUNTY, {}, {handling}), (Dimension.UNIT, {}, {handling}),
            (None, {}, {handling}), (Dimension.MATTER, {}, {handling, matter}),
            (Dimension.MATTER, {Dimension.COUNTY: county}, {handling, matter}),
            (Dimension.COUNTY, {Dimension.MATTER: ref["matters"][0]}, {matter}),
            (Dimension.TOWNSHIP, {}, {handling, township}),
            (Dimension.TOWNSHIP, {Dimension.COUNTY: county}, {handling, township}),
            (Dimension.GRID, {Dimension.TOWNSHIP: ref["townships"][0]}, {township})]
        for group_by, filters, median_indexes in cases:
            # Now at noon: due today and pending later today both have facts to read.
            plan = rollups.plan(start, end, NOW, group_by, filters, TZ)
            assert plan is not None
            sql, params = rollup_query(plan, group_by, filters, start, end, NOW)
            text = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + sql, *params))
            on_facts = [line.strip() for line in text.splitlines()
                        if " on case_facts" in line]
            assert on_facts, text
            assert all(line.startswith("->  Index Only Scan") for line in on_facts), \
                (group_by, filters, on_facts)
            used = {line.split()[5] for line in on_facts}
            assert used == {"case_facts_deadline", "case_facts_open_deadline",
                            *median_indexes}, (group_by, filters, on_facts)


def _consumer(pool: asyncpg.Pool, schema: str, dead: object | None = None
              ) -> BatchConsumer[AnalyticsUnitOfWork]:
    """Analytics' consumer on the test's store (``dead``: where dead letters go; by
    default none may be sent)."""
    return BatchConsumer(CONSUMER, handlers(AnalyticsSettings()).routes(),
                         lambda: AnalyticsUnitOfWork(pool, schema, "/test"),
                         cast(DeadLetterPublisher, dead or _Dead()), retry_backoff_s=0.01)


async def test_the_consumer_journals_and_the_projection_folds(
        pool: tuple[asyncpg.Pool, str]) -> None:
    """A consumed batch is one journal row (its inbox claim in the same transaction) and
    counts nowhere until folded; a redelivered batch adds no row; a fold empties the
    journal into exactly the facts and rollups one transaction would have made."""
    p, schema = pool
    rnd = random.Random(17)
    events, _ = history(rnd, cases=30)
    recs, half = records(events), len(events) // 2
    consumer = _consumer(p, schema)
    await consumer.process(recs[:half])
    await consumer.process(recs[half:])
    await consumer.process(recs[:10])  # redelivered
    # (the histories hold some events twice: each counts once)
    first = {e.event_id for e in events[:half]}
    second = {e.event_id for e in events[half:]} - first
    async with p.acquire() as conn:
        journal = await conn.fetch("SELECT events FROM fact_journal ORDER BY id")
        assert [r["events"] for r in journal] == [len(first), len(second)]
        assert await conn.fetchval("SELECT count(*) FROM case_facts") == 0
        assert await conn.fetchval("SELECT count(*) FROM indicator_days") == 0
    projection = FactProjection(lambda: AnalyticsUnitOfWork(p, schema, "/test"))
    assert await projection.fold() == len(first) + len(second)
    assert await projection.fold() == 0
    async with p.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM fact_journal") == 0
        folded = await _snapshot(conn)
        facts = [dict(r) for r in await conn.fetch("SELECT * FROM case_facts ORDER BY 1")]
        assert len(facts) == 30
        async with conn.transaction():
            await rebuild_rollups(conn, chunk=timedelta(days=9))
            assert await _snapshot(conn) == folded


class _FailingFold(AnalyticsUnitOfWork):
    """A fold whose writes fail after it took the journal's rows."""

    async def commit(self) -> None:
        raise RuntimeError("the fold's writes failed")


async def test_a_failed_fold_leaves_the_journal_as_it_was(
        pool: tuple[asyncpg.Pool, str]) -> None:
    p, schema = pool
    events, _ = history(random.Random(19), cases=20)
    await _consumer(p, schema).process(records(events))
    failing = FactProjection(lambda: _FailingFold(p, schema, "/test"))
    with pytest.raises(RuntimeError):
        await failing.fold()
    async with p.acquire() as conn:
        journalled = await conn.fetchval("SELECT sum(events) FROM fact_journal")
        assert journalled == len({e.event_id for e in events})
        assert await conn.fetchval("SELECT count(*) FROM case_facts") == 0
    # The service's loop retries: here, a fold that works takes the same rows.
    assert await FactProjection(lambda: AnalyticsUnitOfWork(p, schema, "/test")).fold() \
        == journalled
    async with p.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM case_facts") == 20


async def test_the_service_loop_folds_again_after_a_failed_fold(
        pool: tuple[asyncpg.Pool, str]) -> None:
    """``run`` (the service's loop) logs a failed fold, counts it and tries again."""
    p, schema = pool
    events, _ = history(random.Random(29), cases=10)
    await _consumer(p, schema).process(records(events))
    made: list[AnalyticsUnitOfWork] = []

    def first_fails() -> AnalyticsUnitOfWork:
        uow = (_FailingFold if not made else AnalyticsUnitOfWork)(p, schema, "/test")
        made.append(uow)
        return uow

    failures = REGISTRY.get_sample_value("civicgrid_analytics_fold_failures_total")
    loop = asyncio.create_task(FactProjection(first_fails, idle_poll_s=0.05).run())
    try:
        async with p.acquire() as conn:
            for _ in range(200):
                if await conn.fetchval("SELECT count(*) FROM case_facts") == 10:
                    break
                await asyncio.sleep(0.05)
            assert await conn.fetchval("SELECT count(*) FROM case_facts") == 10
            assert await conn.fetchval("SELECT count(*) FROM fact_journal") == 0
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert isinstance(made[0], _FailingFold) and len(made) >= 2
    assert REGISTRY.get_sample_value("civicgrid_analytics_fold_failures_total") == \
        (failures or 0) + 1


async def test_one_fold_at_a_time_per_store(pool: tuple[asyncpg.Pool, str]) -> None:
    """While one transaction folds, another instance's fold waits its turn (None)."""
    p, schema = pool
    events, _ = history(random.Random(23), cases=5)
    await _consumer(p, schema).process(records(events))
    other = FactProjection(lambda: AnalyticsUnitOfWork(p, schema, "/test"))
    async with AnalyticsUnitOfWork(p, schema, "/test") as uow:
        assert await uow.journal.lock_fold()
        assert await other.fold() is None
    assert await other.fold() == len({e.event_id for e in events})


class _Recorded:
    """Dead letters, kept for the test to read."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    async def send(self, record: ConsumerRecord, consumer: str, reason: str,
                   attempts: int) -> None:
        self.reasons.append(reason)


async def test_a_value_the_store_cannot_hold_is_dead_lettered_not_journalled(
        pool: tuple[asyncpg.Pool, str]) -> None:
    """A count beyond PostgreSQL's integer, or a code with a NUL character, would fail
    every fold after it (the fold cannot dead-letter: it holds no record). The consumer
    refuses such an event, so it is dead-lettered with the column and the reason, and the
    other events of its batch are journalled and folded."""
    p, schema = pool
    events, _ = history(random.Random(31), cases=8)
    appeal = next(e for e in events if e.event_type == "civicgrid.appeal.received")
    appeal_id = uuid.UUID(json.loads(appeal.value)["appeal_id"])
    poison = [
        event(CaseReturned(case_id=uuid.uuid4(), appeal_id=appeal_id, unit_id="u",
                           reason="r", return_count=2**40, returned_at=NOW), CASES.name, "k"),
        event(CaseHandedOver(case_id=uuid.uuid4(), appeal_id=appeal_id, to="mediation\x00",
                             unit_id="u", matter_code="m", territory=TerritoryRef(),
                             handed_at=NOW), CASES.name, "k"),
    ]
    dead = _Recorded()
    await _consumer(p, schema, dead).process(records([*events[:10], *poison, *events[10:]]))
    assert len(dead.reasons) == 2
    assert "return_count" in dead.reasons[0] and "handed_over_to" in dead.reasons[1]
    await _fold(p, schema)
    async with p.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM case_facts") == 8
        assert await conn.fetchval(
            "SELECT return_count FROM case_facts WHERE appeal_id = $1", appeal_id) is None


async def test_a_fold_sets_aside_an_appeal_it_cannot_write_and_folds_the_rest(
        pool: tuple[asyncpg.Pool, str]) -> None:
    """The net behind the consumer's check: an update that fails the fold's writes for
    its data (here journalled directly, past the check) is set aside with the reason; the
    other appeals of the fold count. When every appeal fails, it is not their data: the
    fold fails and the journal keeps them all."""
    p, schema = pool
    events, _ = history(random.Random(37), cases=12)
    await _consumer(p, schema).process(records(events))
    bad = uuid.uuid4()
    async with AnalyticsUnitOfWork(p, schema, "/test") as uow:
        uow.journal.record(bad, {"return_count": 2**40, "returned_at": NOW})
        await uow.commit()
    before = REGISTRY.get_sample_value("civicgrid_analytics_fold_set_aside_total") or 0
    projection = FactProjection(lambda: AnalyticsUnitOfWork(p, schema, "/test"))
    await projection.catch_up()
    async with p.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM case_facts") == 12
        assert await conn.fetchval("SELECT count(*) FROM fact_journal") == 0
        aside = await conn.fetch("SELECT appeal_id, reason FROM fact_journal_set_aside")
        assert [r["appeal_id"] for r in aside] == [bad]
        assert "NumericValueOutOfRange" in aside[0]["reason"]
    assert REGISTRY.get_sample_value("civicgrid_analytics_fold_set_aside_total") == before + 1
    # Two appeals, both failing: the fold fails, nothing is set aside, both stay.
    async with AnalyticsUnitOfWork(p, schema, "/test") as uow:
        for appeal in (uuid.uuid4(), uuid.uuid4()):
            uow.journal.record(appeal, {"return_count": 2**40, "returned_at": NOW})
        await uow.commit()
    with pytest.raises(asyncpg.NumericValueOutOfRangeError):
        await projection.fold()
    async with p.acquire() as conn:
        assert await conn.fetchval("SELECT sum(events) FROM fact_journal") == 2
        assert await conn.fetchval("SELECT count(*) FROM fact_journal_set_aside") == 1
