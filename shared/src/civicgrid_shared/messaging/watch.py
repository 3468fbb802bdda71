"""Watching the broker: readiness, and recovery when it lost its topics.

The embedded broker keeps nothing across a restart, and running consumers then stall
silently. When the registered topics are missing, the watch recreates them, re-drives
the outbox rows the old broker may have held, and restarts the subscribers.

A reset is recognised by a sentinel topic that only this process creates: the shared
topics are no proof, since another service may have recreated them before this one
looked, and then this service's unconfirmed outbox rows would never be re-driven.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from aiokafka.admin import AIOKafkaAdminClient
from faststream.kafka import KafkaBroker

from civicgrid_shared import metrics
from civicgrid_shared.contracts.topics import TopicSpec
from civicgrid_shared.errors import safe_reason
from civicgrid_shared.logs import get_logger
from civicgrid_shared.messaging.relay import OutboxRelay
from civicgrid_shared.messaging.topics import (
    admin_client,
    describe_partitions,
    ensure_topics,
    missing_topics,
)
from civicgrid_shared.settings import ServiceSettings

log = get_logger(__name__)

#: how long a subscriber's stop may take when the watch restarts it after a reset
_STOP_TIMEOUT_S = 10.0


class Restartable(Protocol):
    """A producer that starts again on its next use after ``stop``."""

    async def stop(self) -> None: ...


class BrokerWatch:
    def __init__(self, settings: ServiceSettings, service: str, topics: Sequence[TopicSpec],
                 broker: KafkaBroker | None, relay: OutboxRelay | None,
                 producers: Sequence[Restartable] = ()) -> None:
        self._settings = settings
        self._service = service
        # One per process, deleted on a clean stop (1 partition; nothing is written to it).
        self._sentinel = TopicSpec(
            f"civicgrid.watch.{service}.{uuid.uuid4().hex[:12]}", 1, "none",
            "Sentinel of one process's broker watch: its absence means the broker reset.")
        self._topics = [*topics, self._sentinel]
        self._broker = broker
        self._relay = relay
        # Other producers of the process (the dead-letter one): stopped on a reset, so
        # that they start again with the broker's metadata (see OutboxRelay.redrive_recent).
        self._producers = producers
        self._admin: AIOKafkaAdminClient | None = None
        self._task: asyncio.Task[None] | None = None
        self.last_ok: float = 0.0
        self.subscribers_running = False
        self._recovery_pending = False  # a reset's recovery has not completed yet

    @property
    def healthy(self) -> bool:
        return time.monotonic() - self.last_ok < 3 * self._settings.broker_watch_interval_s + 5

    async def start(self) -> None:
        """Create topics, start subscribers, then keep watching in the background.

        A broker that is down at start is not fatal: the watch keeps trying.
        """
        try:
            await self.check()
        except Exception as exc:
            log.warning("broker not reachable at start; will keep trying",
                        reason=safe_reason(exc))
            await self._close_admin()
        self._task = asyncio.create_task(self._loop(), name="broker-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._admin is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._admin.delete_topics([self._sentinel.name]), 3.0)
        await self._close_admin()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._settings.broker_watch_interval_s)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("broker check failed", reason=safe_reason(exc))
                await self._close_admin()

    async def check(self) -> None:
        admin = await self._get_admin()
        missing = await missing_topics(admin, self._topics)
        if missing:
            first_time = self.last_ok == 0.0 and not self.subscribers_running
            created = await ensure_topics(admin, self._topics, self._settings)
            if created:
                log.info("topics created", topics=created)
            if not first_time:
                metrics.BROKER_RESETS.labels(self._service).inc()
                log.warning("broker lost its topics: recreated them, recovering",
                            missing=missing)
                self._recovery_pending = True
        if self._recovery_pending:
            await self._recover(admin)
        if not self.subscribers_running and self._broker is not None:
            await self._broker.start()
            self.subscribers_running = True
        self.last_ok = time.monotonic()
        await self._measure_lag()

    async def _recover(self, admin: AIOKafkaAdminClient) -> None:
        """After a reset: producers start again, the outbox's recent rows go again, the
        subscribers restart. Until all of it is done it is tried again at every check (a
        repeat sends rows twice, which the consumers' inboxes absorb)."""
        for producer in self._producers:
            await producer.stop()
        if self._relay is not None:
            await self._relay.redrive_recent()
        self._warn_partitions(await describe_partitions(admin, [t.name for t in self._topics]))
        await self._restart_subscribers()
        self._recovery_pending = False

    def _warn_partitions(self, counts: dict[str, int]) -> None:
        """Topics a client made the broker create before the watch did have its default
        partitions, not their own: nothing is lost (every producer starts again with the
        metadata as it is), but fewer consumers can share them until they are recreated."""
        for spec in self._topics:
            found = counts.get(spec.name)
            if found is not None and found != spec.partitions:
                log.warning("topic recreated with other partitions than its own",
                            topic=spec.name, partitions=found, expected=spec.partitions)

    async def _measure_lag(self) -> None:
        """Records behind the end of the log, per consumer group and topic."""
        if self._broker is None:
            return
        for sub in self._broker.subscribers:
            consumer = getattr(sub, "consumer", None)
            group = getattr(sub, "group_id", None)
            if consumer is None or group is None:
                continue
            lag: dict[str, int] = dict.fromkeys(getattr(sub, "topic_names_for_subscribe", ()), 0)
            for tp in consumer.assignment():
                end = consumer.highwater(tp)
                if end is None:
                    continue
                try:
                    position = await asyncio.wait_for(consumer.position(tp), 1.0)
                except Exception:  # noqa: S112 - a partition being rebalanced has no position
                    continue
                lag[tp.topic] = lag.get(tp.topic, 0) + max(0, end - position)
            for topic, value in lag.items():
                metrics.CONSUMER_LAG.labels(group, topic).set(value)

    async def _restart_subscribers(self) -> None:
        """Restart every subscriber, all at once (a failure is raised once all are done)."""
        if self._broker is None or not self.subscribers_running:
            return
        results = await asyncio.gather(
            *(self._restart(sub) for sub in self._broker.subscribers), return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise failed[0]

    async def _restart(self, sub: Any) -> None:
        # A consumer whose group was rejoining when the broker died can wait for ever on
        # its JoinGroup: aiokafka's stop waits for that first, and the restarted broker
        # may hold it for good (a fault test saw a group never restart). Past the bound,
        # the stop is cancelled, which ends that wait; the subscriber starts a new consumer.
        try:
            await asyncio.wait_for(sub.stop(), _STOP_TIMEOUT_S)
        except TimeoutError:
            log.warning("subscriber did not stop in time; starting a new consumer anyway",
                        group=getattr(sub, "group_id", None), timeout_s=_STOP_TIMEOUT_S)
        except Exception as exc:
            log.warning("subscriber stop failed; starting it again",
                        group=getattr(sub, "group_id", None), reason=safe_reason(exc))
        await sub.start()

    async def _get_admin(self) -> AIOKafkaAdminClient:
        if self._admin is None:
            admin = admin_client(self._settings, f"civicgrid-{self._service}-watch")
            await admin.start()
            self._admin = admin
        return self._admin

    async def _close_admin(self) -> None:
        if self._admin is not None:
            admin, self._admin = self._admin, None
            with contextlib.suppress(Exception):
                await admin.close()
