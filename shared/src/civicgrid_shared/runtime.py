"""The parts every service runs: database pool and migrations, broker, outbox relay and
broker watch. A service's bootstrap creates one, adds its consumers and HTTP routes,
and starts it; nothing here knows any service's domain.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from faststream.kafka import KafkaBroker

from civicgrid_shared import heap
from civicgrid_shared.contracts.topics import ALL_TOPICS, TopicSpec, validate_registry
from civicgrid_shared.db.migrate import migrate
from civicgrid_shared.db.pool import create_pool
from civicgrid_shared.db.uow import UnitOfWork
from civicgrid_shared.logs import configure_logging, get_logger
from civicgrid_shared.messaging.broker import make_broker, make_producer
from civicgrid_shared.messaging.consumer import BatchConsumer, Handler, Prepare
from civicgrid_shared.messaging.deadletter import DeadLetterPublisher
from civicgrid_shared.messaging.relay import OutboxRelay
from civicgrid_shared.messaging.subscription import Pace, subscribe
from civicgrid_shared.messaging.watch import BrokerWatch
from civicgrid_shared.settings import ServiceSettings

log = get_logger(__name__)


@dataclass
class _ConsumerSpec:
    name: str
    topics: Sequence[TopicSpec]
    routes: dict[Any, Handler[Any]]
    uow_factory: Callable[[], UnitOfWork]
    description: str
    prepare: Prepare[Any] | None = None
    pace: Pace = "prompt"


@dataclass
class ServiceRuntime:
    name: str
    schema: str
    settings: ServiceSettings
    migrations: Path
    topics: Sequence[TopicSpec] = ALL_TOPICS
    pool: asyncpg.Pool | None = None
    broker: KafkaBroker = field(init=False)
    relay: OutboxRelay | None = None
    watch: BrokerWatch | None = None
    _consumers: list[_ConsumerSpec] = field(default_factory=list)
    _dlq_producer: Any = None
    started_at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        validate_registry(tuple(self.topics))
        self.broker = make_broker(self.settings, self.name)

    def add_consumer(self, name: str, topics: Sequence[TopicSpec],
                     routes: dict[Any, Handler[Any]], uow_factory: Callable[[], UnitOfWork],
                     description: str, prepare: Prepare[Any] | None = None,
                     pace: Pace = "prompt") -> None:
        """Declare a consumer group; it is subscribed when the runtime starts. ``pace``:
        "prompt" when someone waits for what it does, "bulk" when it only counts or
        records (bigger, rarer batches; see ServiceSettings.kafka_bulk_fetch_max_wait_ms)."""
        self._consumers.append(_ConsumerSpec(name, topics, routes, uow_factory, description,
                                             prepare, pace))

    @property
    def db(self) -> asyncpg.Pool:
        if self.pool is None:
            raise RuntimeError("runtime not started")
        return self.pool

    async def start(self) -> None:
        configure_logging(self.name, self.settings.log_level)
        await self._wait_for_database()
        applied = await migrate(self.settings.database_url, self.schema, self.migrations)
        log.info("migrations applied", schema=self.schema, count=applied)
        self.pool = await create_pool(self.settings.database_url, self.schema,
                                      self.settings.db_pool_min, self.settings.db_pool_max)
        await self.prepare_store(self.pool)
        self._dlq_producer = _LazyProducer(self.settings, f"civicgrid-{self.name}-dlq")
        dead_letters = DeadLetterPublisher(self._dlq_producer, self.name)
        for spec in self._consumers:
            consumer = BatchConsumer(
                spec.name, spec.routes, spec.uow_factory, dead_letters,
                max_attempts=self.settings.consumer_max_attempts,
                retry_backoff_s=self.settings.consumer_retry_backoff_s,
                prepare=spec.prepare,
            )
            subscribe(self.broker, consumer, spec.topics, self.settings, spec.description,
                      spec.pace)
        self.relay = OutboxRelay(self.pool, self.schema, self.settings, self.name,
                                 topics=self.topics)
        await self.relay.start()
        self.watch = BrokerWatch(self.settings, self.name, self.topics, self.broker, self.relay,
                                 producers=[self._dlq_producer])
        # With the broker down, appeals are still accepted into the outbox; /ready says
        # not ready until the watch reaches the broker.
        await self.watch.start()
        heap.settle()

    async def prepare_store(self, pool: asyncpg.Pool) -> None:
        """Hook: work on the store after the migrations and before any consumer starts
        (e.g. filling derived tables a migration added). Nothing by default."""

    async def _wait_for_database(self) -> None:
        deadline = time.monotonic() + 60.0
        while True:
            try:
                conn = await asyncpg.connect(self.settings.database_url, timeout=5)
                await conn.close()
                return
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        "PostgreSQL is not reachable at CIVICGRID_DATABASE_URL; start it "
                        "(make up) or fix the setting"
                    ) from exc
                await asyncio.sleep(0.5)

    async def stop(self) -> None:
        if self.watch is not None:
            await self.watch.stop()
        with contextlib.suppress(Exception):
            await self.broker.stop()
        if self.relay is not None:
            await self.relay.stop()
        if self._dlq_producer is not None:
            await self._dlq_producer.stop()
        if self.pool is not None:
            try:
                # close() waits for every lent connection; a stuck one must not hang shutdown.
                await asyncio.wait_for(self.pool.close(), 10)
            except TimeoutError:
                log.warning("database connections still in use after 10 s; terminating them")
                self.pool.terminate()

    async def readiness(self) -> dict[str, bool]:
        checks = {"database": False, "broker": False, "relay": False}
        if self.pool is not None:
            try:
                async with self.pool.acquire(timeout=2) as conn:
                    await conn.fetchval("SELECT 1")
                checks["database"] = True
            except Exception:  # noqa: S110 - readiness reports, it does not raise
                pass
        checks["broker"] = self.watch is not None and self.watch.healthy \
            and self.watch.subscribers_running
        checks["relay"] = self.relay is not None and self.relay.running
        return checks


class _LazyProducer:
    """A producer started on first use and restarted after a failure."""

    def __init__(self, settings: ServiceSettings, client_id: str) -> None:
        self._settings = settings
        self._client_id = client_id
        self._producer: Any = None

    async def send_and_wait(self, topic: str, **kwargs: Any) -> Any:
        if self._producer is None:
            producer = make_producer(self._settings, self._client_id)
            await producer.start()
            self._producer = producer
        try:
            return await self._producer.send_and_wait(topic, **kwargs)
        except Exception:
            await self.stop()
            raise

    async def stop(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            with contextlib.suppress(Exception):
                await producer.stop()
