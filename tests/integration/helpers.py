"""Small helpers for integration tests: HTTP calls, polling, raw Kafka access."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from civicgrid_shared.db.pool import create_pool
from civicgrid_shared.reference.loader import load_territory
from civicgrid_stack.stack import Stack

T = TypeVar("T")


def url(stack: Stack, service: str, path: str) -> str:
    return f"http://127.0.0.1:{stack.ports.service_port(service)}{path}"


@asynccontextmanager
async def schema_pool(stack: Stack, schema: str, size: int = 1) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the stack's PostgreSQL made the way the services make theirs."""
    pool = await create_pool(stack.postgres.dsn(), schema, min_size=1, max_size=size)
    try:
        yield pool
    finally:
        await pool.close()


def random_grid_code() -> str:
    grids = [g.code for g in load_territory().grids]
    return random.choice(grids)


def random_phone() -> str:
    """A distinct citizen: the same phone and matter would be merged as a duplicate."""
    return "139" + "".join(random.choices("0123456789", k=8))


def appeal_body(grid: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "hotline",
        "external_id": f"test-{uuid.uuid4()}",
        "content": "小区门口的路灯坏了一个星期了，晚上很黑。",
        "grid_code": grid,
        "contact_phone": random_phone(),
    }
    body.update(overrides)
    return body


async def wait_for(probe: Callable[[], Awaitable[T | None]], timeout: float = 30.0,  # noqa: ASYNC109
                   what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last is not None:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


async def indicators(client: httpx.AsyncClient, stack: Stack, **params: str) -> dict[str, Any]:
    r = await client.get(url(stack, "analytics", "/v1/indicators"), params=params)
    r.raise_for_status()
    return r.json()  # type: ignore[no-any-return]


async def produce(stack: Stack, topic: str, key: bytes | None, value: bytes,
                  headers: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.broker.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


async def read_topic(stack: Stack, topic: str, until: Callable[[Any], bool],
                     timeout: float = 30.0) -> Any:  # noqa: ASYNC109
    """Read a topic from the start until a record satisfies ``until``; return it."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=stack.broker.bootstrap,
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                group_id=None)
    await consumer.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    if until(record):
                        return record
        raise AssertionError(f"no matching record on {topic} within {timeout}s")
    finally:
        await consumer.stop()


async def metric(client: httpx.AsyncClient, stack: Stack, service: str, name: str,
                 labels: dict[str, str]) -> float:
    text = (await client.get(url(stack, service, "/metrics"))).text
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{"):
            inner = line[len(name) + 1:line.index("}")]
            got = ",".join(sorted(inner.split(",")))
            if got == want:
                return float(line.rsplit(" ", 1)[1])
    return 0.0
