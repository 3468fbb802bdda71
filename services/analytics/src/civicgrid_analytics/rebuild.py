"""``python -m civicgrid_analytics.rebuild``: replay the history into an empty store, compare.

1. Drops and recreates the shadow schema (default ``analytics_rebuild``) with analytics'
   migrations: an empty analytics store.
2. Reads the appeals, cases and enforcement topics from offset 0 without a consumer
   group (nothing is committed, the live service is not disturbed) and applies every
   record with the very same batch consumers (one per topic set, as live), handlers and
   unit of work as the live service, into the shadow schema. Hotspot events go to the
   shadow outbox, which no relay publishes.
3. Waits until the live service has processed the same events (for each consumer, its
   inbox holds every event id the shadow inbox holds, and nothing more; new traffic is
   replayed too) and folded them (its fact journal is empty), then
   computes the same read models in both schemas with the same ``now`` and compares them.
   The rollups are rebuilt by the same replay and fold (as live: see projection.py), and in
   the rebuilt store the indicators from the rollups are compared with those computed
   from the facts (counts, rates and medians must be identical).

Prints a JSON report and exits 0 when the figures are identical, 1 when they differ,
2 when the live store could not be matched with the broker's history (e.g. the embedded
broker was restarted and no longer holds old events). The shadow schema is kept for
inspection; ``--drop`` removes it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from civicgrid_shared.contracts.topics import APPEALS, CASES, ENFORCEMENT
from civicgrid_shared.db.migrate import migrate
from civicgrid_shared.db.pool import check_schema, create_pool
from civicgrid_shared.messaging.consumer import BatchConsumer
from civicgrid_shared.messaging.deadletter import DeadLetterPublisher

from civicgrid_analytics.adapters.enforcement_sql import EnforcementQuery
from civicgrid_analytics.adapters.indicator_sql import IndicatorQuery
from civicgrid_analytics.bootstrap import (
    CONSUMER,
    ENFORCEMENT_CONSUMER,
    MIGRATIONS,
    SERVICE,
    SOURCE,
    AnalyticsSettings,
    handlers,
    view_settings,
)
from civicgrid_analytics.domain.enforcement import EnforcementGroup
from civicgrid_analytics.domain.indicators import COUNT_FIELDS, RATES, Dimension
from civicgrid_analytics.service_layer import enforcement, views
from civicgrid_analytics.service_layer.projection import FactProjection
from civicgrid_analytics.service_layer.unit_of_work import AnalyticsUnitOfWork


class _CountingDeadLetters:
    """The live service already dead-lettered these; the rebuild only counts them."""

    def __init__(self) -> None:
        self.count = 0

    async def send(self, record: ConsumerRecord, consumer: str, reason: str,
                   attempts: int) -> None:
        self.count += 1


async def read_models(pool: asyncpg.Pool, schema: str, now: datetime,
                      settings: AnalyticsSettings) -> dict[str, Any]:
    """The figures compared between the live and the rebuilt store."""
    cfg = view_settings(settings)
    out: dict[str, Any] = {}
    async with AnalyticsUnitOfWork(pool, schema, SOURCE) as uow:
        out["indicators"] = await views.indicators(uow, IndicatorQuery(None, None, now), cfg)
        for dim in (Dimension.COUNTY, Dimension.CHANNEL, Dimension.MATTER, Dimension.UNIT,
                    Dimension.TIER):
            q = IndicatorQuery(None, None, now, dim)
            out[f"by_{dim.value}"] = (await views.indicators(uow, q, cfg))["rows"]
        out["hotspots"] = await views.hotspots(uow, None, None, limit=1_000_000)
        out["facts"] = await uow.conn.fetchval("SELECT count(*) FROM case_facts")
        out["enforcement"] = (await enforcement.indicators(
            uow, EnforcementQuery(None, None)))["total"]
        for group in (EnforcementGroup.TEAM, EnforcementGroup.COUNTY):
            out[f"enforcement_by_{group.value}"] = (await enforcement.indicators(
                uow, EnforcementQuery(None, None, group)))["rows"]
    return json.loads(json.dumps(out, default=str))  # type: ignore[no-any-return]


_COMPARED = (*COUNT_FIELDS, "accepted", *RATES, "median_handling_hours")


async def rollups_vs_facts(pool: asyncpg.Pool, schema: str, now: datetime,
                           settings: AnalyticsSettings) -> list[str]:
    """The read models whose counts, rates or medians differ between the rollup path and
    the fact path in one store (empty: identical)."""
    cfg = view_settings(settings)
    different = []
    async with AnalyticsUnitOfWork(pool, schema, SOURCE) as uow:
        for dim in (None, Dimension.COUNTY, Dimension.CHANNEL, Dimension.MATTER,
                    Dimension.UNIT, Dimension.TIER):
            q = IndicatorQuery(None, None, now, dim)
            a = await views.indicators(uow, q, cfg, "rollups")
            b = await views.indicators(uow, q, cfg, "facts")
            pairs = [(a["total"], b["total"]), *zip(a["rows"], b["rows"], strict=False)]
            for ra, rb in pairs:
                if {k: ra.get(k) for k in _COMPARED} != {k: rb.get(k) for k in _COMPARED}:
                    different.append(dim.value if dim else "total")
                    break
            else:
                if [r["key"] for r in a["rows"]] != [r["key"] for r in b["rows"]]:
                    different.append(dim.value if dim else "total")
    return different


async def _inbox_gap(conn: asyncpg.Connection, live: str, shadow: str) -> tuple[int, int]:
    """(events the shadow store has and the live one not, the other way round), over
    both of analytics' consumers."""
    row = await conn.fetchrow(
        f"""
        SELECT (SELECT count(*) FROM "{shadow}".inbox s WHERE s.consumer = ANY($1)
                AND NOT EXISTS (SELECT 1 FROM "{live}".inbox l
                                WHERE l.consumer = s.consumer AND l.event_id = s.event_id)),
               (SELECT count(*) FROM "{live}".inbox l WHERE l.consumer = ANY($1)
                AND NOT EXISTS (SELECT 1 FROM "{shadow}".inbox s
                                WHERE s.consumer = l.consumer AND s.event_id = l.event_id))
        """, [CONSUMER, ENFORCEMENT_CONSUMER])  # noqa: S608 - checked identifiers
    assert row is not None
    return int(row[0]), int(row[1])


class Replayer:
    def __init__(self, settings: AnalyticsSettings, pool: asyncpg.Pool, schema: str) -> None:
        self.settings = settings
        self.dead = _CountingDeadLetters()

        def make_uow() -> AnalyticsUnitOfWork:
            return AnalyticsUnitOfWork(pool, schema, SOURCE)

        dead = cast(DeadLetterPublisher, self.dead)
        self.projection = FactProjection(make_uow)
        self.consumer: BatchConsumer[AnalyticsUnitOfWork] = BatchConsumer(
            CONSUMER, handlers(settings).routes(), make_uow, dead,
            max_attempts=settings.consumer_max_attempts,
            retry_backoff_s=settings.consumer_retry_backoff_s)
        self.enforcement: BatchConsumer[AnalyticsUnitOfWork] = BatchConsumer(
            ENFORCEMENT_CONSUMER, enforcement.routes(), make_uow, dead,
            max_attempts=settings.consumer_max_attempts,
            retry_backoff_s=settings.consumer_retry_backoff_s)
        self.records = 0
        self._kafka: AIOKafkaConsumer | None = None
        self._tps: list[TopicPartition] = []

    async def start(self) -> None:
        kafka = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap, group_id=None,
            enable_auto_commit=False, auto_offset_reset="earliest",
            client_id="civicgrid-analytics-rebuild",
            fetch_max_wait_ms=self.settings.kafka_fetch_max_wait_ms)
        await kafka.start()
        tps = []
        for topic in (APPEALS.name, CASES.name, ENFORCEMENT.name):
            parts = kafka.partitions_for_topic(topic)
            if parts is None:
                await kafka.force_metadata_update()
                parts = kafka.partitions_for_topic(topic) or set()
            tps += [TopicPartition(topic, p) for p in sorted(parts)]
        kafka.assign(tps)
        await kafka.seek_to_beginning(*tps)
        self._kafka, self._tps = kafka, tps

    async def stop(self) -> None:
        if self._kafka is not None:
            await self._kafka.stop()

    async def catch_up(self) -> None:
        """Apply every record up to the end offsets as they are now, and fold them."""
        kafka = self._kafka
        assert kafka is not None
        ends: dict[TopicPartition, int] = await kafka.end_offsets(self._tps)
        while True:
            positions = {tp: await kafka.position(tp) for tp in ends}
            if all(positions[tp] >= end for tp, end in ends.items()):
                await self.projection.catch_up()
                return
            batches = await kafka.getmany(timeout_ms=500,
                                          max_records=self.settings.consumer_max_records)
            records = [r for rs in batches.values() for r in rs]
            # Each record goes to the consumer that reads its topic live.
            for consumer, topics in ((self.consumer, (APPEALS.name, CASES.name)),
                                     (self.enforcement, (ENFORCEMENT.name,))):
                mine = [r for r in records if r.topic in topics]
                if mine:
                    await consumer.process(mine)
            self.records += len(records)


async def run(settings: AnalyticsSettings, schema: str, wait_s: float, drop: bool
              ) -> dict[str, Any]:
    check_schema(schema)
    if schema == SERVICE:
        raise SystemExit("the shadow schema must not be the live one")
    started = time.monotonic()
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await migrate(settings.database_url, schema, MIGRATIONS)
        pool = await create_pool(settings.database_url, schema, 1, 4)
        live_pool = await create_pool(settings.database_url, SERVICE, 1, 2)
        replayer = Replayer(settings, pool, schema)
        await replayer.start()
        report: dict[str, Any] = {"schema": schema}
        try:
            deadline = time.monotonic() + wait_s
            while True:
                await replayer.catch_up()
                missing, extra = await _inbox_gap(conn, SERVICE, schema)
                # ... and the live service has folded what it consumed
                unfolded = await conn.fetchval(
                    f'SELECT count(*) FROM "{SERVICE}".fact_journal')  # noqa: S608
                if (missing == 0 and extra == 0 and unfolded == 0) \
                        or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)  # the live service is behind, or new traffic came
            now = datetime.now(UTC)
            rebuilt = await read_models(pool, schema, now, settings)
            live = await read_models(live_pool, SERVICE, now, settings)
            paths = await rollups_vs_facts(pool, schema, now, settings)
        finally:
            await replayer.stop()
            await pool.close()
            await live_pool.close()
        differences = sorted(k for k in rebuilt if rebuilt[k] != live.get(k))
        detail = {k: _diff(rebuilt[k], live.get(k)) for k in differences}
        report.update({
            "records_replayed": replayer.records,
            "dead_lettered": replayer.dead.count,
            "events_only_in_rebuild": missing, "events_only_in_live": extra,
            "equal": not differences and not paths, "differences": differences,
            "detail": detail, "rollups_differ_from_facts": paths,
            "seconds": round(time.monotonic() - started, 2),
            "indicators": rebuilt["indicators"]["total"],
        })
        if drop:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        return report
    finally:
        await conn.close()


def _diff(rebuilt: Any, live: Any) -> Any:
    """Where two read models differ: the keys of grouped rows, else both values."""
    if isinstance(rebuilt, list) and isinstance(live, list):
        a = {json.dumps(r.get("key")): r for r in rebuilt if isinstance(r, dict)}
        b = {json.dumps(r.get("key")): r for r in live if isinstance(r, dict)}
        return {k: {"rebuilt": a.get(k), "live": b.get(k)}
                for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}
    return {"rebuilt": rebuilt, "live": live}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m civicgrid_analytics.rebuild",
                                     description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--schema", default="analytics_rebuild", help="the shadow schema")
    parser.add_argument("--wait", type=float, default=60.0,
                        help="seconds to wait for the live service to match (default 60)")
    parser.add_argument("--drop", action="store_true", help="drop the shadow schema after")
    args = parser.parse_args(argv)
    report = asyncio.run(run(AnalyticsSettings(), args.schema, args.wait, args.drop))
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if report["events_only_in_live"] or report["events_only_in_rebuild"]:
        return 2
    return 0 if report["equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
