"""What the projection in a process of its own would give: analytics' consumer in this
process, its projection (``FactProjection.run``, looking at the journal every 20 ms) in a
child process, on the same store. Events/s from the first batch until every event is
folded (without a broker; compare with ``bench.py --phases ingest``, which runs both in
one process as the service does).

    python services/analytics/bench/fold_apart.py --dsn postgresql://… [--order shuffled|timeline]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import time
from typing import cast

import asyncpg
from civicgrid_analytics.bootstrap import CONSUMER, AnalyticsSettings, handlers
from civicgrid_analytics.service_layer.projection import FactProjection
from civicgrid_analytics.service_layer.unit_of_work import AnalyticsUnitOfWork
from civicgrid_shared import heap
from civicgrid_shared.db.migrate import migrate
from civicgrid_shared.db.pool import create_pool
from civicgrid_shared.messaging.consumer import BatchConsumer
from civicgrid_shared.messaging.deadletter import DeadLetterPublisher

import bench  # the main bench's events and records (this script's directory is on the path)


def _fold(dsn: str, schema: str) -> None:
    async def run() -> None:
        pool = await create_pool(dsn, schema, 1, 2)
        projection = FactProjection(lambda: AnalyticsUnitOfWork(pool, schema, "/bench"),
                                    idle_poll_s=0.02)
        heap.settle()
        await projection.run()
    asyncio.run(run())


async def main(a: argparse.Namespace) -> None:
    conn = await asyncpg.connect(a.dsn)
    await conn.execute(f'DROP SCHEMA IF EXISTS "{a.schema}" CASCADE')
    await migrate(a.dsn, a.schema, bench.MIGRATIONS)
    pool = await create_pool(a.dsn, a.schema, 2, 4)
    events = bench._events(a.appeals, bench._reference(),
                           shape="original" if a.order == "grouped" else "reference",
                           per_hour=a.appeals_per_hour, timeline=a.order == "timeline")
    if a.order == "shuffled":
        random.Random(2).shuffle(events)
    records = bench._records(events)
    consumer: BatchConsumer[AnalyticsUnitOfWork] = BatchConsumer(
        CONSUMER, handlers(AnalyticsSettings()).routes(),
        lambda: AnalyticsUnitOfWork(pool, a.schema, "/bench"),
        cast(DeadLetterPublisher, bench._NoDeadLetters()))
    child = multiprocessing.get_context("spawn").Process(
        target=_fold, args=(a.dsn, a.schema), daemon=True)
    child.start()
    try:
        await asyncio.sleep(3)  # the child's imports and pool
        heap.settle()
        started = time.perf_counter()
        for i in range(0, len(records), 1000):
            await consumer.process(records[i:i + 1000])
        consumed = time.perf_counter() - started
        unfolded = f'SELECT EXISTS (SELECT FROM "{a.schema}".fact_journal)'  # noqa: S608
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if not child.is_alive():
                raise SystemExit("the projection's process died: see its error above")
            if not await conn.fetchval(unfolded):
                break
            await asyncio.sleep(0.02)
        else:
            raise SystemExit("the journal was not folded within 10 minutes")
        folded = time.perf_counter() - started
    finally:
        child.terminate()
        await pool.close()
        await conn.close()
    n = len(records)
    print(f"fold apart ({a.order}, {n} events): consumed at {n / consumed:,.0f} events/s; "
          f"every event folded at {n / folded:,.0f} events/s ({folded:.1f} s)", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--schema", default="analytics_fold_apart")
    ap.add_argument("--appeals", type=int, default=8000)
    ap.add_argument("--order", choices=("grouped", "shuffled", "timeline"), default="grouped",
                    help="as bench.py's --order (shuffled and timeline: the reference events)")
    ap.add_argument("--appeals-per-hour", type=int, default=None,
                    help="as bench.py's --appeals-per-hour")
    asyncio.run(main(ap.parse_args()))
