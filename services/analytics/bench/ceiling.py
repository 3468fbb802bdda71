"""The ceiling of analytics' ingest on this machine: the bench's events consumed from the
real broker with **no domain work at all**, to compare ``bench.py --phases broker`` with.

The same records as ``bench.py`` (the same CloudEvents headers and JSON payloads) are
produced to an embedded tansu broker first. Then one plain aiokafka consumer (no
FastStream, no handlers) takes batches of up to ``--batch`` records and, per batch:

- ``inbox``: decodes each record's envelope (``civicgrid_shared.contracts.envelope.decode``,
  the CloudEvents binding every consumer must read: the event id is in a header) and, in
  one transaction, claims the ids in an inbox table (``INSERT … ON CONFLICT DO NOTHING
  RETURNING``, as ``shared/db/inbox.py``), then commits the offsets;
- ``state``: the same, plus one upsert per event into a narrow table keyed by the event's
  Kafka key (the least "state change" an event can make: a counter per case).

Reported per mode: events/s from the first fetched batch to the last committed offset,
and the CPU per event of this process, its PostgreSQL backend and the broker (Linux
``/proc``). Whatever analytics does beyond this (payload validation, facts, rollups, the
median's histogram, the hotspot windows) has to fit in what is left.

    uv run python services/analytics/bench/ceiling.py --appeals 4000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from civicgrid_analytics.bootstrap import AnalyticsSettings
from civicgrid_analytics.contracts import TOPICS
from civicgrid_shared.contracts.envelope import decode
from civicgrid_shared.messaging.topics import ensure_topics


def _sibling(name: str) -> ModuleType:
    """The sibling script ``bench.py`` (its events, PostgreSQL and CPU helpers), by path:
    ``import bench`` would find the repository's top-level ``bench`` package."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


bench = _sibling("bench")

MODES = ("inbox", "state")
_SCHEMA = "analytics_ceiling"


async def _produce(bootstrap: str, appeals: int) -> int:
    events = bench._events(appeals, bench._reference())
    await bench.produce(bootstrap, events)
    return len(events)


async def _consume(bootstrap: str, dsn: str, mode: str, expected: int, batch: int,
                   broker_pid: int | None) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    await conn.execute(f"DROP SCHEMA IF EXISTS {_SCHEMA} CASCADE; CREATE SCHEMA {_SCHEMA}; "
                       f"SET search_path = {_SCHEMA}; "
                       "CREATE TABLE inbox (event_id uuid PRIMARY KEY, "
                       "processed_at timestamptz NOT NULL DEFAULT now()); "
                       "CREATE TABLE state (key text PRIMARY KEY, events int NOT NULL)")
    backend = await conn.fetchval("SELECT pg_backend_pid()")
    consumer = AIOKafkaConsumer(*(t.name for t in TOPICS), bootstrap_servers=bootstrap,
                                group_id=f"ceiling-{mode}-{uuid.uuid4().hex[:8]}",
                                enable_auto_commit=False,
                                auto_offset_reset="earliest", max_poll_records=batch,
                                fetch_max_wait_ms=20, session_timeout_ms=6000,
                                heartbeat_interval_ms=2000)
    await consumer.start()
    done = 0
    first: float | None = None
    cpu0: tuple[float, float, float] | None = None
    try:
        while done < expected:
            got = await consumer.getmany(timeout_ms=1000, max_records=batch)
            records = [r for rs in got.values() for r in rs]
            if not records:
                continue
            if first is None:
                first = time.perf_counter()
                cpu0 = (time.process_time(), bench._cpu_s([backend]),
                        bench._cpu_s([broker_pid] if broker_pid else []))
            envelopes = [decode(r.headers, r.key, r.value, r.topic) for r in records]
            async with conn.transaction():
                fresh = await conn.fetch(
                    "INSERT INTO inbox (event_id) SELECT unnest($1::uuid[]) "
                    "ON CONFLICT DO NOTHING RETURNING event_id", [e.id for e in envelopes])
                if mode == "state":
                    keys = {r["event_id"] for r in fresh}
                    await conn.execute(
                        "INSERT INTO state AS s (key, events) SELECT k, count(*) "
                        "FROM unnest($1::text[]) k GROUP BY k ORDER BY k "
                        "ON CONFLICT (key) DO UPDATE SET events = s.events + EXCLUDED.events",
                        [e.key for e in envelopes if e.id in keys])
            await consumer.commit()
            done += len(records)
        assert first is not None and cpu0 is not None
        wall = time.perf_counter() - first
        py = time.process_time() - cpu0[0]
        pg = bench._cpu_s([backend]) - cpu0[1]
        broker = bench._cpu_s([broker_pid] if broker_pid else []) - cpu0[2]
    finally:
        await consumer.stop()
        await conn.close()
    # The first batch's own work is inside the span, its fetch is not: n - 1 batches' worth
    # of fetching for n batches of work, a small bias upwards at these sizes.
    return {"mode": mode, "events": done, "wall_s": wall, "events_per_s": done / wall,
            "python_us": py / done * 1e6, "postgres_us": pg / done * 1e6,
            "broker_us": broker / done * 1e6}


async def run(a: argparse.Namespace) -> list[dict[str, Any]]:
    from civicgrid_stack.broker import TansuBroker

    log = Path(tempfile.mkdtemp(prefix="analytics-ceiling-")) / "tansu.log"
    broker = TansuBroker(bench._free_port(), "127.0.0.1", log)
    broker.start()
    try:
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        await admin.start()
        try:
            await ensure_topics(admin, TOPICS, AnalyticsSettings())
        finally:
            await admin.close()
        n = await _produce(broker.bootstrap, a.appeals)
        print(f"produced {n:,} events", flush=True)
        out = []
        for _ in range(a.repeat):
            for mode in MODES:
                r = await _consume(broker.bootstrap, a.dsn, mode, n, a.batch, broker.pid)
                out.append(r)
                cpu = r["python_us"] + r["postgres_us"] + r["broker_us"]
                print(f"{mode:6s}: {r['events_per_s']:8,.0f} events/s ({r['wall_s']:.1f} s); "
                      f"CPU per event: Python {r['python_us']:.0f} us + PostgreSQL "
                      f"{r['postgres_us']:.0f} us + broker {r['broker_us']:.0f} us = "
                      f"{cpu:.0f} us", flush=True)
        return out
    finally:
        broker.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    ap.add_argument("--dsn", help="an existing PostgreSQL (default: start one of its own)")
    ap.add_argument("--appeals", type=int, default=4000, help="five events each")
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=2, help="runs of each mode, alternated")
    a = ap.parse_args()
    with contextlib.ExitStack() as stack:
        if a.dsn is None:
            a.dsn = stack.enter_context(bench._own_postgres())
        asyncio.run(run(a))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
    sys.exit(0)
