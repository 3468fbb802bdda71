"""Batch consumers: inbox-idempotent, commit after processing, dead letters after retries.

A batch is applied in one transaction (one unit of work, one inbox claim) because a
transaction per message caps a service at a few hundred messages a second. If the
batch fails for a reason of the data, its events are retried one by one so that one
poison event goes to the dead-letter topic and its neighbours still go through. A
fault of the infrastructure (database or broker away) is retried without limit,
never dead-lettered: the messages are fine.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiokafka import ConsumerRecord

from civicgrid_shared import metrics
from civicgrid_shared.contracts.envelope import Envelope, EnvelopeError, EventPayload, decode
from civicgrid_shared.db.uow import UnitOfWork
from civicgrid_shared.errors import Rejected, is_transient, safe_reason
from civicgrid_shared.logs import correlated, get_logger
from civicgrid_shared.messaging.deadletter import DeadLetterPublisher

log = get_logger(__name__)

P = TypeVar("P", bound=EventPayload)
U = TypeVar("U", bound=UnitOfWork)

Handler = Callable[[Any, Envelope, U], Awaitable[None]]
# Called once per batch, before the handlers, with the payloads about to be handled:
# lets a service load in one query what its handlers would otherwise ask one by one.
Prepare = Callable[[Sequence[EventPayload], U], Awaitable[None]]


@dataclass(frozen=True)
class Route(Generic[U]):
    """Which payload model an event type decodes into, and which handler takes it."""

    model: type[EventPayload]
    handler: Handler[U]


@dataclass(frozen=True)
class Decoded:
    record: ConsumerRecord
    envelope: Envelope
    payload: EventPayload
    route: Route[Any]


class BatchConsumer(Generic[U]):
    def __init__(
        self,
        name: str,
        routes: Mapping[type[EventPayload], Handler[U]],
        uow_factory: Callable[[], U],
        dead_letters: DeadLetterPublisher,
        *,
        max_attempts: int = 5,
        retry_backoff_s: float = 0.2,
        prepare: Prepare[U] | None = None,
    ) -> None:
        self.name = name
        self._prepare = prepare
        self._routes: dict[str, Route[U]] = {
            model.event_type: Route(model, handler) for model, handler in routes.items()
        }
        self._uow_factory = uow_factory
        self._dead_letters = dead_letters
        self._max_attempts = max_attempts
        self._backoff = retry_backoff_s
        self._transient_failures = 0

    async def process(self, records: Sequence[ConsumerRecord]) -> None:
        """Process a batch; return only when every record is applied or dead-lettered.

        Raises on a transient fault after a pause, so the caller rewinds and redelivers.
        """
        started = time.perf_counter()
        decoded = [d for r in records if (d := await self._decode(r)) is not None]
        if decoded:
            try:
                await self._apply(decoded)
            except Exception as exc:
                if is_transient(exc):
                    await self._pause_after_transient(exc)
                    raise
                log.warning("batch failed, retrying one by one", consumer=self.name,
                            reason=safe_reason(exc), size=len(decoded))
                for item in decoded:
                    await self._apply_with_retries(item)
        self._transient_failures = 0
        metrics.BATCH_SECONDS.labels(self.name).observe(time.perf_counter() - started)

    async def _decode(self, record: ConsumerRecord) -> Decoded | None:
        try:
            envelope = decode(record.headers or (), record.key, record.value, record.topic)
        except EnvelopeError as exc:
            await self._dead_letter(record, f"envelope: {exc}", 1, "envelope")
            return None
        route = self._routes.get(envelope.type)
        if route is None:
            # Forward compatibility: event types this consumer does not know are skipped.
            metrics.EVENTS_IGNORED.labels(self.name).inc()
            return None
        try:
            payload = envelope.payload(route.model)
        except EnvelopeError as exc:
            await self._dead_letter(record, f"payload of {envelope.type}: {exc}", 1, "payload")
            return None
        return Decoded(record, envelope, payload, route)

    async def _apply(self, items: Sequence[Decoded]) -> None:
        async with self._uow_factory() as uow:
            fresh = await uow.claim(self.name, [i.envelope.id for i in items])
            todo: list[Decoded] = []
            for item in items:
                # The same event twice in one batch: process it once.
                if item.envelope.id in fresh:
                    fresh.discard(item.envelope.id)
                    todo.append(item)
            duplicates = len(items) - len(todo)
            if self._prepare is not None and todo:
                await self._prepare([i.payload for i in todo], uow)
            for item in todo:
                with correlated(str(item.envelope.correlation_id)):
                    await item.route.handler(item.payload, item.envelope, uow)
            await uow.commit()
        if duplicates:
            metrics.EVENTS_DUPLICATE.labels(self.name).inc(duplicates)
        # Per topic, not per item: a labelled increment costs about as much as decoding a
        # small event's envelope.
        for topic, n in collections.Counter(item.record.topic for item in items).items():
            metrics.EVENTS_CONSUMED.labels(self.name, topic).inc(n)

    async def _apply_with_retries(self, item: Decoded) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._apply([item])
                return
            except Exception as exc:
                if is_transient(exc):
                    await self._pause_after_transient(exc)
                    raise
                if attempt >= self._max_attempts or isinstance(exc, Rejected):
                    await self._dead_letter(
                        item.record, f"handler: {safe_reason(exc)}", attempt, "handler"
                    )
                    return
                metrics.EVENT_RETRIES.labels(self.name).inc()
                log.warning("event failed, will retry", consumer=self.name,
                            event_type=item.envelope.type, attempt=attempt,
                            reason=safe_reason(exc))
                await asyncio.sleep(self._backoff * attempt)

    async def _dead_letter(self, record: ConsumerRecord, reason: str, attempts: int,
                           kind: str) -> None:
        await self._dead_letters.send(record, self.name, reason, attempts)
        metrics.EVENTS_DEAD_LETTERED.labels(self.name, kind).inc()
        log.error("record dead-lettered", consumer=self.name, topic=record.topic,
                  partition=record.partition, offset=record.offset, reason=reason)

    async def _pause_after_transient(self, exc: BaseException) -> None:
        self._transient_failures += 1
        delay = min(5.0, self._backoff * 2 ** min(self._transient_failures, 5))
        log.warning("transient fault, batch will be redelivered", consumer=self.name,
                    reason=safe_reason(exc), retry_in_s=round(delay, 2))
        await asyncio.sleep(delay)


def sanitize_headers(record: ConsumerRecord) -> ConsumerRecord:
    """Replace header values that are not UTF-8 so the framework's parser cannot choke.

    The envelope decoder then refuses the record and it goes to the dead-letter topic.
    """
    headers = []
    for key, value in record.headers or ():
        try:
            value.decode("utf-8")
        except (UnicodeDecodeError, AttributeError):
            value = b"\xef\xbf\xbd"
        headers.append((key, value))
    return dataclasses.replace(record, headers=tuple(headers))
