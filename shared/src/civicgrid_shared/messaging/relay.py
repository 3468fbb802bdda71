"""The outbox relay: publishes committed outbox rows, in id order, and marks them sent.

One relay per service schema is active at a time (a PostgreSQL advisory lock), so the
events of one aggregate leave in the order their transactions committed them. Rows are
locked while they are sent and marked published only after the broker acknowledged
every one of them (acks=all); a failure rolls the marks back and the rows go again
(consumers' inboxes absorb the repeat).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib
from collections.abc import Sequence

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from civicgrid_shared import metrics
from civicgrid_shared.aio import wait_at_most
from civicgrid_shared.contracts.topics import TopicSpec, spec_for
from civicgrid_shared.db import outbox
from civicgrid_shared.errors import safe_reason
from civicgrid_shared.logs import get_logger
from civicgrid_shared.messaging.broker import make_producer
from civicgrid_shared.messaging.producer_metadata import track_topics
from civicgrid_shared.messaging.topics import admin_client, ensure_topics
from civicgrid_shared.settings import ServiceSettings

log = get_logger(__name__)


class OutboxRelay:
    def __init__(self, pool: asyncpg.Pool, schema: str, settings: ServiceSettings,
                 service: str, topics: Sequence[TopicSpec] = ()) -> None:
        self._pool = pool
        self._schema = schema
        self._settings = settings
        self._service = service
        self._wake = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._tracked: set[str] = set()  # topics whose metadata the producer holds
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._lock_key = zlib.crc32(f"civicgrid-relay-{schema}".encode())
        self.last_success: float = 0.0
        self.active = False
        # Broker resets handled so far (redrive_recent): a round that was out while one was
        # handled sends its rows again (publish_once).
        self._resets = 0
        # Topics known to exist: others (per-unit task topics) are created before use.
        self._known_topics: set[str] = set()
        # The service's own topics (beyond the shared registry) the relay may publish to.
        self._own_topics = {t.name: t for t in topics}

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self._schema}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_producer()
        await self._close_admin()
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        self._wake.set()

    async def redrive_recent(self) -> int:
        """Re-send what was published within the retention window (the broker lost it).

        The producer is replaced as well: its metadata still has the topics as they were.
        A client that touches a topic before the watch recreates it makes the embedded
        broker create it with its default partitions (4), and that broker acknowledges
        writes to partitions it does not list, which no consumer ever reads: an old
        producer would put every key of a higher partition there, the re-sent rows too
        (test_faults lost 84 of 368 appeals so)."""
        self._resets += 1  # before the UPDATE: see publish_once
        self._known_topics.clear()
        await self._close_producer()  # a round still out with it fails and goes again
        async with self._pool.acquire() as conn:
            count = await outbox.redrive_since(conn, self._settings.outbox_retention_s)
        metrics.OUTBOX_REDRIVEN.labels(self._service).inc(count)
        log.warning("outbox rows re-driven after broker reset", rows=count)
        self.wake()
        return count

    async def _run(self) -> None:
        failures = 0
        last_purge = last_measure = 0.0
        while True:
            try:
                await self._ensure_leader()
                if not self.active:
                    await asyncio.sleep(1.0)
                    continue
                # Cleared before the round: a wake-up during it (new rows, a re-drive) counts.
                self._wake.clear()
                sent = await self.publish_once()
                failures = 0
                self.last_success = time.monotonic()
                if time.monotonic() - last_measure > 5:
                    last_measure = time.monotonic()
                    await self._measure()
                if time.monotonic() - last_purge > 60:
                    last_purge = time.monotonic()
                    await self._purge()
                if sent == 0:
                    await wait_at_most(self._wake, self._settings.outbox_idle_poll_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                metrics.OUTBOX_PUBLISH_FAILURES.labels(self._service).inc()
                delay = min(2.0, 0.05 * 2 ** min(failures, 6))
                log.warning("outbox relay round failed; retrying", reason=safe_reason(exc),
                            retry_in_s=delay, failures=failures)
                await self._close_producer()
                await self._close_admin()
                if self._listener is not None and self._listener.is_closed():
                    self._listener = None
                    self.active = False
                await asyncio.sleep(delay)

    async def _ensure_leader(self) -> None:
        """Hold the schema's relay lock on a dedicated connection that also LISTENs."""
        if self._listener is not None and not self._listener.is_closed():
            if not self.active:
                self.active = bool(await self._listener.fetchval(
                    "SELECT pg_try_advisory_lock($1)", self._lock_key))
            return
        self.active = False
        self._listener = await asyncpg.connect(
            self._settings.database_url, server_settings={"search_path": self._schema}
        )
        await self._listener.add_listener(outbox.notify_channel(self._schema),
                                          lambda *_: self._wake.set())
        self.active = bool(await self._listener.fetchval(
            "SELECT pg_try_advisory_lock($1)", self._lock_key))

    async def _get_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = make_producer(self._settings, f"civicgrid-{self._service}-relay")
            await producer.start()
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        if self._producer is not None:
            self._tracked = set()
            producer, self._producer = self._producer, None
            with contextlib.suppress(Exception):
                await producer.stop()

    async def _close_admin(self) -> None:
        if self._admin is not None:
            admin, self._admin = self._admin, None
            with contextlib.suppress(Exception):
                await admin.close()

    async def publish_once(self) -> int:
        """Send one batch of unpublished rows; return how many were published.

        A round that was out while a broker reset was handled sends its rows again: some
        acknowledgements may have come from the broker that then lost its memory, and
        the re-drive could not see these rows (locked and not yet marked, or marked after
        it ran). The check comes after the commit, and the reset count is raised before
        the re-drive's UPDATE, so every order of the two is covered; the repeat is
        harmless (consumers' inboxes)."""
        producer = await self._get_producer()
        resets = self._resets
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await outbox.claim_unpublished(conn, self._settings.outbox_batch_size)
            if not rows:
                return 0
            topics = {row.topic for row in rows}
            await self._ensure_topics(topics)
            if not topics <= self._tracked:
                # Only the new topics' metadata: dispatch writes to thousands of unit
                # task topics (see producer_metadata.py).
                await track_topics(producer, topics - self._tracked)
                self._tracked |= topics
            futures = [
                await producer.send(row.topic, value=row.value, key=row.key.encode(),
                                    headers=row.headers)
                for row in rows
            ]
            await asyncio.gather(*futures)
            await outbox.mark_published(conn, [row.id for row in rows])
        if self._resets != resets:
            async with self._pool.acquire() as conn:
                await outbox.mark_unpublished(conn, [row.id for row in rows])
            log.warning("outbox rows sent again: the broker reset while they were out",
                        rows=len(rows))
            self.wake()
            return 0
        metrics.OUTBOX_PUBLISHED.labels(self._service).inc(len(rows))
        return len(rows)

    async def _ensure_topics(self, names: set[str]) -> None:
        unknown = names - self._known_topics
        if not unknown:
            return
        specs = []
        for name in sorted(unknown):
            spec = self._own_topics.get(name) or spec_for(name)
            if spec is None:
                raise ValueError(f"outbox row for unregistered topic {name}")
            specs.append(spec)
        if self._admin is None:
            admin = admin_client(self._settings, f"civicgrid-{self._service}-relay-admin")
            await admin.start()
            self._admin = admin
        try:
            created = await ensure_topics(self._admin, specs, self._settings)
        except Exception:
            await self._close_admin()
            raise
        if created:
            log.info("topics created on first use", topics=created)
        self._known_topics |= unknown

    async def _purge(self) -> None:
        async with self._pool.acquire() as conn:
            await outbox.purge_published(conn, self._settings.outbox_retention_s)

    async def _measure(self) -> None:
        async with self._pool.acquire() as conn:
            count, age = await outbox.backlog(conn)
        metrics.OUTBOX_BACKLOG.labels(self._service).set(count)
        metrics.OUTBOX_OLDEST_AGE.labels(self._service).set(age)
