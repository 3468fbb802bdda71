"""The bare baseline: one hand-written hop with aiokafka + asyncpg, on the bench's own
PostgreSQL and broker, to compare the platform against.

What one message goes through (all in this one Python process):

1. **First write, group commit** (like intake's ``GroupCommitter``: 4 committer tasks, at
   most 256 rows per transaction): an appeal-like JSON body (the same body the e2e
   benchmark posts) is inserted into ``bench_baseline.appeals`` (uuid primary key,
   unique external id, the body as jsonb) in a transaction shared with whatever else is
   queued. The submitter is answered once that transaction has committed: this moment
   stands for intake's 201.
2. **Produce:** the committed batch is sent to the topic ``civicgrid.bench-baseline.v1``
   (6 partitions, like the appeals topic), key = appeal id, ``acks=all``, linger 2 ms
   (the platform's producer settings), and every ack is awaited.
3. **Consume:** a consumer (manually assigned every partition, group
   ``civicgrid-bench-baseline`` for the offsets) takes up to 2,000 records, waiting at
   most 20 ms (the platform's consumer batch timeout), decodes each JSON, and in one
   transaction claims each id in ``bench_baseline.inbox`` (``INSERT … ON CONFLICT DO
   NOTHING RETURNING``, like the platform's inbox) and inserts the new ones into
   ``bench_baseline.facts``. After the commit, the offsets are committed.

Measured: messages/s accepted (first commit) and counted (second commit), and latency
from the first commit returning to the second commit returning (both by this process's
wall clock).

What it does **not** include, so the ratio to the platform is an upper bound of what
the platform's machinery costs, not a like-for-like design: no HTTP server or request
validation, no classification, duplicate detection or contact table; no transactional
outbox (a crash between the first commit and the produce loses the message: the
platform cannot lose it); no second service hop (dispatch: case registration, routing,
deadlines, two topics per event) — the platform goes intake → dispatch → analytics, two
broker hops and three services, the baseline one hop; no event envelope (CloudEvents
headers) or schema. And it is one process: load generator, both ends of the hop and
the broker client share one event loop, so it uses at most one core for its Python work
where the platform spreads over four processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

TOPIC = "civicgrid.bench-baseline.v1"
PARTITIONS = 6
GROUP = "civicgrid-bench-baseline"
COMMITTERS = 4
MAX_BATCH = 256
CONSUMER_BATCH = 2000

SCHEMA_SQL = """
DROP SCHEMA IF EXISTS bench_baseline CASCADE;
CREATE SCHEMA bench_baseline;
CREATE TABLE bench_baseline.appeals (
    appeal_id   uuid PRIMARY KEY,
    external_id text NOT NULL UNIQUE,
    body        jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE bench_baseline.inbox (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
CREATE TABLE bench_baseline.facts (
    appeal_id   uuid PRIMARY KEY,
    body        jsonb NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
"""

INSERT_APPEALS = """
INSERT INTO bench_baseline.appeals (appeal_id, external_id, body)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::jsonb[])
"""
CLAIM = """
INSERT INTO bench_baseline.inbox (consumer, event_id)
SELECT 'baseline', unnest($1::uuid[])
ON CONFLICT DO NOTHING
RETURNING event_id
"""
INSERT_FACTS = """
INSERT INTO bench_baseline.facts (appeal_id, body)
SELECT * FROM unnest($1::uuid[], $2::jsonb[])
"""


@dataclass
class _Item:
    appeal_id: uuid.UUID
    external_id: str
    body: str
    done: asyncio.Future[float]


@dataclass
class Stats:
    """One phase's counts: first commits, second commits, latencies (seconds)."""

    accepted: int = 0
    counted: int = 0
    last_counted: float = 0.0  # time.monotonic() of the latest second commit
    latencies: list[float] = field(default_factory=list)


class Hop:
    """The running baseline: committers, sender and consumer tasks."""

    def __init__(self, dsn: str, bootstrap: str) -> None:
        self._dsn = dsn
        self._bootstrap = bootstrap
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._outgoing: asyncio.Queue[list[_Item]] = asyncio.Queue()
        self._committed_at: dict[uuid.UUID, float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._pool: asyncpg.Pool | None = None
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self.stats = Stats()

    async def start(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        try:
            await conn.execute(SCHEMA_SQL)
        finally:
            await conn.close()
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
        await admin.start()
        try:
            if TOPIC not in await admin.list_topics():
                await admin.create_topics([NewTopic(TOPIC, PARTITIONS, 1)])
        finally:
            await admin.close()
        self._pool = await asyncpg.create_pool(self._dsn, min_size=COMMITTERS + 1,
                                               max_size=COMMITTERS + 1)
        self._producer = AIOKafkaProducer(bootstrap_servers=self._bootstrap, acks="all",
                                          linger_ms=2, max_batch_size=256 * 1024)
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, group_id=GROUP,
                                          enable_auto_commit=False,
                                          auto_offset_reset="earliest",
                                          fetch_max_wait_ms=20)
        await self._consumer.start()
        parts = [TopicPartition(TOPIC, p) for p in range(PARTITIONS)]
        self._consumer.assign(parts)
        await self._consumer.seek_to_end(*parts)
        self._tasks = [asyncio.create_task(self._commit_loop()) for _ in range(COMMITTERS)]
        self._tasks += [asyncio.create_task(self._send_loop()),
                        asyncio.create_task(self._consume_loop())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        for closer in (self._consumer, self._producer):
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer.stop()
        if self._pool is not None:
            await self._pool.close()

    def reset(self) -> Stats:
        """Start a new phase's counts; returns the finished phase's."""
        done, self.stats = self.stats, Stats()
        return done

    def check(self) -> None:
        """Raise if a background task died (the phase's figures would be meaningless)."""
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise RuntimeError("baseline task failed") from task.exception()

    async def submit(self, body: dict[str, Any]) -> float:
        """Queue one appeal; returns when its first transaction committed (wall clock)."""
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Item(uuid.uuid4(), str(body["external_id"]),
                                     json.dumps(body, ensure_ascii=False), done))
        return await done

    async def _commit_loop(self) -> None:
        assert self._pool is not None
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute(INSERT_APPEALS, [i.appeal_id for i in batch],
                                   [i.external_id for i in batch], [i.body for i in batch])
            now = time.time()
            for item in batch:
                self._committed_at[item.appeal_id] = now
                item.done.set_result(now)
            self.stats.accepted += len(batch)
            self._outgoing.put_nowait(batch)

    async def _send_loop(self) -> None:
        assert self._producer is not None
        while True:
            batch = [*await self._outgoing.get()]
            while not self._outgoing.empty():
                batch.extend(self._outgoing.get_nowait())
            futures = [await self._producer.send(TOPIC, value=i.body.encode(),
                                                 key=str(i.appeal_id).encode())
                       for i in batch]
            await asyncio.gather(*futures)

    async def _consume_loop(self) -> None:
        assert self._consumer is not None and self._pool is not None
        while True:
            got = await self._consumer.getmany(timeout_ms=20, max_records=CONSUMER_BATCH)
            records = [r for rs in got.values() for r in rs]
            if not records:
                continue
            bodies: dict[uuid.UUID, str] = {}
            for r in records:
                assert r.key is not None and r.value is not None
                text = r.value.decode()
                json.loads(text)  # what a consumer pays to look at the message
                bodies[uuid.UUID(r.key.decode())] = text
            ids = list(bodies)
            async with self._pool.acquire() as conn, conn.transaction():
                new = [row[0] for row in await conn.fetch(CLAIM, ids)]
                if new:
                    await conn.execute(INSERT_FACTS, new, [bodies[i] for i in new])
            now = time.time()
            await self._consumer.commit()
            for appeal in new:
                first = self._committed_at.pop(appeal, None)
                if first is not None:
                    self.stats.latencies.append(now - first)
            self.stats.counted += len(new)
            self.stats.last_counted = time.monotonic()

    async def drain(self, limit_s: float = 120.0) -> None:
        """Wait until every accepted message is counted (or no progress for 15 s)."""
        deadline = time.monotonic() + limit_s
        last, since = -1, time.monotonic()
        while self.stats.counted < self.stats.accepted and time.monotonic() < deadline:
            self.check()
            if self.stats.counted != last:
                last, since = self.stats.counted, time.monotonic()
            elif time.monotonic() - since > 15:
                break
            await asyncio.sleep(0.05)


def percentiles(name: str, values: list[float]) -> dict[str, float]:
    """``<name>_n``, and p50/p99 in ms when there are at least two values."""
    if len(values) < 2:
        return {f"{name}_n": len(values)}
    q = statistics.quantiles(values, n=100)
    return {f"{name}_n": len(values), f"{name}_p50_ms": round(q[49] * 1000, 1),
            f"{name}_p99_ms": round(q[98] * 1000, 1)}


async def throughput(hop: Hop, seconds: float, clients: int,
                     body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``clients`` submitters, each waiting for its commit before the next (as the e2e
    HTTP clients wait for their 201), for ``seconds``; then until all are counted."""
    hop.reset()
    load0 = os.getloadavg()[0]
    started = time.monotonic()
    deadline = started + seconds

    async def client() -> None:
        while time.monotonic() < deadline:
            await hop.submit(body())

    await asyncio.gather(*(client() for _ in range(clients)))
    accepted_done = time.monotonic()
    await hop.drain()
    s = hop.reset()
    end = s.last_counted if s.counted else time.monotonic()
    return {"accepted": s.accepted, "counted": s.counted,
            "accepted_per_s": round(s.accepted / (accepted_done - started), 1),
            "counted_per_s": round(s.counted / max(end - started, 1e-9), 1),
            **percentiles("lat", s.latencies), "load_before": round(load0, 2),
            "load_after": round(os.getloadavg()[0], 2)}


async def latency(hop: Hop, rate: float, seconds: float,
                  body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Open loop: ``rate`` submissions per second for ``seconds`` (none waits for the
    previous), then until all are counted. Latency: first commit → second commit."""
    hop.reset()
    load0 = os.getloadavg()[0]
    started = time.monotonic()
    issued = 0
    pending: set[asyncio.Task[float]] = set()
    while (now := time.monotonic()) - started < seconds:
        due = int((now - started) * rate) - issued
        for _ in range(due):
            task = asyncio.create_task(hop.submit(body()))
            pending.add(task)
            task.add_done_callback(pending.discard)
        issued += max(due, 0)
        await asyncio.sleep(0.005)
    issue_s = time.monotonic() - started
    await asyncio.gather(*pending)
    await hop.drain()
    s = hop.reset()
    achieved = issued / issue_s
    ok = achieved >= 0.95 * rate and s.counted >= 0.95 * issued
    return {"offered_per_s": round(achieved, 1), "accepted": s.accepted, "counted": s.counted,
            "rate_achieved": "yes" if ok else "NO", **percentiles("lat", s.latencies),
            "load_before": round(load0, 2), "load_after": round(os.getloadavg()[0], 2)}
