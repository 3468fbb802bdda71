"""End-to-end benchmark: appeals over HTTP through intake and dispatch to analytics.

Starts its own stack on free ports (nothing else of the project must be running),
then for each phase:
- throughput: N concurrent clients post appeals as fast as intake accepts them for
  ``--seconds``; the platform's rate is appeals assigned in analytics per second from
  the first request until the last one is counted;
- latency at a fixed rate: time from the 201 to the case.assigned record on the unit's
  task topic, and to analytics' inbox commit of that event.
Figures go to stdout as Markdown; `make bench` appends them to BENCHMARKS.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import random
import statistics
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer
from civicgrid_shared.contracts.envelope import decode
from civicgrid_shared.contracts.events import CaseAssigned
from civicgrid_shared.reference.loader import load_matters, load_territory
from civicgrid_stack.ports import Ports
from civicgrid_stack.stack import Stack

# Appeals must not be duplicates of each other (same matter nearby, or one citizen
# twice): those are merged, not dispatched. Each has its own phone, and the matters
# chosen are those without a spatial duplicate rule (radius 0).
MATTERS: list[str] = []
CLASSIFY = False


def _body(grids: list[str], rng: random.Random) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "hotline", "external_id": f"bench-{uuid.uuid4()}",
        "content": "小区门口的路灯坏了，晚上很黑。", "grid_code": grids.pop(),
        "contact_phone": "139" + "".join(rng.choices("0123456789", k=8))}
    if not CLASSIFY:
        body["matter_code"] = rng.choice(MATTERS)  # chosen by the hotline agent
    return body


def _grids(seed: int) -> list[str]:
    codes = [g.code for g in load_territory().grids]
    random.Random(seed).shuffle(codes)
    return codes


async def _assigned_count(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval(
        "SELECT count(*) FROM analytics.case_facts WHERE assigned_at IS NOT NULL"))


async def throughput(stack: Stack, seconds: float, clients: int) -> dict[str, float]:
    grids = _grids(1) * 100
    rng = random.Random(1)
    conn = await asyncpg.connect(stack.postgres.dsn())
    start_count = await _assigned_count(conn)
    accepted = 0
    errors = 0
    intake = f"http://127.0.0.1:{stack.ports.intake}/v1/appeals"
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        started = time.monotonic()

        async def worker() -> None:
            nonlocal accepted, errors
            while time.monotonic() - started < seconds:
                r = await client.post(intake, json=_body(grids, rng))
                if r.status_code == 201:
                    accepted += 1
                else:
                    errors += 1

        await asyncio.gather(*(worker() for _ in range(clients)))
        http_done = time.monotonic()
    while await _assigned_count(conn) - start_count < accepted:
        await asyncio.sleep(0.05)
        if time.monotonic() - http_done > 300:
            break
    done = time.monotonic()
    counted = await _assigned_count(conn) - start_count
    await conn.close()
    return {"accepted": accepted, "errors": errors,
            "http_per_s": accepted / (http_done - started),
            "e2e_per_s": counted / (done - started), "drain_s": done - http_done}


async def latency(stack: Stack, rate: float, seconds: float) -> dict[str, float]:
    grids = _grids(2) * 100
    rng = random.Random(2)
    sent: dict[uuid.UUID, float] = {}
    to_task: list[float] = []
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.broker.bootstrap, group_id=None,
                                auto_offset_reset="latest", fetch_max_wait_ms=5,
                                metadata_max_age_ms=1000)
    consumer.subscribe(pattern=r"^civicgrid\.tasks\..*")
    await consumer.start()
    await asyncio.sleep(3)
    stop = asyncio.Event()

    async def read_tasks() -> None:
        while not stop.is_set():
            for records in (await consumer.getmany(timeout_ms=100)).values():
                now = time.monotonic()
                for r in records:
                    env = decode(r.headers, r.key, r.value)
                    if env.type == CaseAssigned.event_type:
                        appeal = env.payload(CaseAssigned).appeal_id
                        if appeal in sent:
                            to_task.append(now - sent[appeal])

    reader = asyncio.create_task(read_tasks())
    intake = f"http://127.0.0.1:{stack.ports.intake}/v1/appeals"
    wall_sent: dict[uuid.UUID, datetime] = {}
    async with httpx.AsyncClient(timeout=30) as client:
        started = time.monotonic()
        pending: list[asyncio.Task[None]] = []

        async def one() -> None:
            r = await client.post(intake, json=_body(grids, rng))
            if r.status_code == 201:
                appeal = uuid.UUID(r.json()["appeal_id"])
                sent[appeal] = time.monotonic()
                wall_sent[appeal] = datetime.now(UTC)

        i = 0
        while time.monotonic() - started < seconds:
            target = started + i / rate
            await asyncio.sleep(max(0.0, target - time.monotonic()))
            pending.append(asyncio.create_task(one()))
            i += 1
        await asyncio.gather(*pending)
    await asyncio.sleep(3)
    stop.set()
    await reader
    await consumer.stop()
    # Analytics: when its inbox recorded the case.assigned event of each appeal.
    conn = await asyncpg.connect(stack.postgres.dsn())
    rows = await conn.fetch(
        """SELECT c.appeal_id, i.processed_at FROM dispatch.cases c
           JOIN dispatch.outbox o ON o.key = c.case_id::text
                                 AND o.event_type = 'civicgrid.case.assigned'
           JOIN analytics.inbox i ON i.event_id = o.event_id
           WHERE c.appeal_id = ANY($1::uuid[])""", list(wall_sent))
    await conn.close()
    to_analytics = [(r["processed_at"] - wall_sent[r["appeal_id"]]).total_seconds()
                    for r in rows]
    return {"sent": len(sent), **_pct("task", to_task), **_pct("analytics", to_analytics)}


def _pct(name: str, values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {f"{name}_n": len(values)}
    q = statistics.quantiles(values, n=100)
    return {f"{name}_n": len(values), f"{name}_p50_ms": q[49] * 1000,
            f"{name}_p99_ms": q[98] * 1000}


def machine() -> str:
    cpu = "unknown cpu"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    return f"{platform.node()}: {cpu}, {cores} cores, Python {platform.python_version()}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--rates", default="200,1000")
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--classify", action="store_true",
                        help="send no matter code: intake classifies the text")
    args = parser.parse_args()
    global CLASSIFY
    CLASSIFY = args.classify
    MATTERS.extend(m.code for m in load_matters().all()
                   if not m.enforcement and m.duplicate_radius_m == 0)
    stack = Stack(Path(mkdtemp(prefix="civicgrid-bench-")), Ports.free(),
                  extra_env={"CIVICGRID_LOG_LEVEL": "WARNING"})
    await asyncio.to_thread(stack.start, True, 120.0)
    try:
        print(f"machine: {machine()}; date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
        t = await throughput(stack, args.seconds, args.clients)
        print(f"throughput ({args.seconds:.0f} s, {args.clients} clients): {t}")
        for rate in (float(r) for r in args.rates.split(",")):
            lat = await latency(stack, rate, args.latency_seconds)
            print(f"latency at {rate:.0f}/s for {args.latency_seconds:.0f} s: {lat}")
    finally:
        await asyncio.to_thread(stack.stop)


if __name__ == "__main__":
    asyncio.run(main())
