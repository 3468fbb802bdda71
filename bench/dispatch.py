"""Dispatch alone: cases registered and dispatched per second, and latency to the task topic.

Starts PostgreSQL, the broker and only the dispatch service on free ports, then:
- throughput (first, so later phases find the unit task topics created): pre-loads
  ``--cases`` appeal.received events on the appeals topic (as intake would publish them),
  and measures from the first case registered until the last one (cases/s = registered
  ÷ elapsed, with the dispatch outbox drained onto the bus);
- latency at a fixed rate: publishes appeals at ``--rates`` and measures from the moment
  each is acknowledged by the broker to the broker's ack of its case.assigned record on
  the unit's task topic.
Prints Markdown-ready lines; figures go to BENCHMARKS.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from tempfile import mkdtemp

import asyncpg
from aiokafka import AIOKafkaProducer
from civicgrid_shared.contracts.envelope import new_event
from civicgrid_shared.contracts.events import AppealReceived, TerritoryRef
from civicgrid_shared.contracts.topics import APPEALS
from civicgrid_shared.reference.loader import load_matters, load_territory
from civicgrid_stack.ports import Ports
from civicgrid_stack.stack import Stack

from bench.e2e import machine


def appeals(n: int, seed: int) -> list[AppealReceived]:
    rng = random.Random(seed)
    grids = list(load_territory().grids)
    matters = [m.code for m in load_matters().all()
               if not m.enforcement and m.duplicate_radius_m == 0]
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        g = rng.choice(grids)
        out.append(AppealReceived(
            appeal_id=uuid.uuid4(), tracking_code=f"B{seed:02d}{i:08d}", channel="hotline",
            external_id=f"bench-{uuid.uuid4()}", received_at=now,
            content="小区门口的路灯坏了，晚上很黑。", matter_code=rng.choice(matters),
            territory=TerritoryRef(county_code=g.county_code, township_code=g.township_code,
                                   community_code=g.community_code, grid_code=g.code),
            contact_phone_masked="139****0000"))
    return out


def encoded(a: AppealReceived) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    e = new_event(a, topic=APPEALS.name, key=str(a.appeal_id), source="/civicgrid/bench")
    return e.key.encode(), e.value, e.headers


async def _registered(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM dispatch.cases"))


async def throughput(stack: Stack, n: int) -> dict[str, float]:
    records = [encoded(a) for a in appeals(n, 1)]
    conn = await asyncpg.connect(stack.postgres.dsn())
    base = await _registered(conn)
    producer = AIOKafkaProducer(bootstrap_servers=stack.broker.bootstrap, acks="all",
                                linger_ms=5, max_batch_size=262144)
    await producer.start()
    t0 = time.monotonic()
    futures = [await producer.send(APPEALS.name, value=v, key=k, headers=h)
               for k, v, h in records]
    await asyncio.gather(*futures)
    loaded = time.monotonic() - t0
    await producer.stop()
    first: float | None = None
    last_count = base
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        count = await _registered(conn)
        if first is None and count > base:
            first = time.monotonic()
        if count - base >= n:
            break
        if count != last_count:
            print(f"  registered {count - base}/{n}", flush=True)
            last_count = count
        await asyncio.sleep(0.2)
    done = time.monotonic()
    pending = await conn.fetchval(
        "SELECT count(*) FROM dispatch.outbox WHERE published_at IS NULL")
    while pending and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        pending = await conn.fetchval(
            "SELECT count(*) FROM dispatch.outbox WHERE published_at IS NULL")
    published = time.monotonic()
    registered = await _registered(conn) - base
    await conn.close()
    start = first if first is not None else t0
    return {"appeals": n, "load_s": round(loaded, 2), "registered": registered,
            "cases_per_s": round(registered / max(done - start, 1e-9), 1),
            "with_outbox_published_per_s": round(registered / max(published - start, 1e-9),
                                                 1)}


async def latency(stack: Stack, rate: float, seconds: float) -> dict[str, float]:
    """From the broker's ack of each appeal to the broker's ack of its case.assigned on
    the unit's task topic (the relay stamps ``published_at`` once the record is acked)."""
    batch = appeals(int(rate * seconds), 2)
    sent: dict[uuid.UUID, datetime] = {}
    producer = AIOKafkaProducer(bootstrap_servers=stack.broker.bootstrap, acks="all",
                                linger_ms=0)
    await producer.start()
    started = time.monotonic()
    for i, a in enumerate(batch):
        await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
        k, v, h = encoded(a)
        await (await producer.send(APPEALS.name, value=v, key=k, headers=h))
        sent[a.appeal_id] = datetime.now(UTC)
    await producer.stop()
    conn = await asyncpg.connect(stack.postgres.dsn())
    deadline = time.monotonic() + 120
    query = """SELECT c.appeal_id, o.published_at FROM dispatch.cases c
               JOIN dispatch.outbox o ON o.key = c.case_id::text
               WHERE c.appeal_id = ANY($1::uuid[]) AND o.published_at IS NOT NULL
                 AND o.event_type = 'civicgrid.case.assigned'
                 AND o.topic LIKE 'civicgrid.tasks.%'"""
    rows = await conn.fetch(query, list(sent))
    while len(rows) < len(sent) and time.monotonic() < deadline:
        await asyncio.sleep(1)
        rows = await conn.fetch(query, list(sent))
    await conn.close()
    delays = [(r["published_at"] - sent[r["appeal_id"]]).total_seconds() for r in rows]
    if len(delays) < 2:
        return {"sent": len(sent), "task_n": len(delays)}
    q = statistics.quantiles(delays, n=100)
    return {"sent": len(sent), "task_n": len(delays), "task_p50_ms": round(q[49] * 1000, 1),
            "task_p99_ms": round(q[98] * 1000, 1)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--rates", default="200")
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    args = parser.parse_args()
    stack = Stack(Path(mkdtemp(prefix="civicgrid-bench-dispatch-")), Ports.free(),
                  extra_env={"CIVICGRID_LOG_LEVEL": "WARNING"})
    stack.services = {"dispatch": stack.services["dispatch"]}  # dispatch alone
    await asyncio.to_thread(stack.start, True, 120.0)
    try:
        print(f"machine: {machine()}; date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
        # Throughput first: it also creates most unit task topics, so the latency phases
        # measure a warm platform, as in production where the topics exist.
        t = await throughput(stack, args.cases)
        print(f"throughput ({args.cases} appeals pre-loaded): {t}", flush=True)
        for rate in (float(r) for r in args.rates.split(",") if r):
            lat = await latency(stack, rate, args.latency_seconds)
            print(f"latency at {rate:.0f}/s for {args.latency_seconds:.0f} s: {lat}",
                  flush=True)
    finally:
        await asyncio.to_thread(stack.stop)


if __name__ == "__main__":
    asyncio.run(main())
