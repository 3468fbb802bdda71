"""Wiring a BatchConsumer to a FastStream batch subscriber with safe settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage

from civicgrid_shared.contracts.topics import TopicSpec
from civicgrid_shared.messaging.consumer import BatchConsumer, sanitize_headers
from civicgrid_shared.settings import ServiceSettings


async def _safe_parser(
    records: tuple[ConsumerRecord, ...],
    original: Callable[[tuple[ConsumerRecord, ...]], Awaitable[StreamMessage[Any]]],
) -> StreamMessage[Any]:
    # FastStream decodes every header as UTF-8; one bad header would otherwise make
    # the batch fail before our code sees it, and be redelivered for ever.
    try:
        return await original(records)
    except UnicodeDecodeError:
        return await original(tuple(sanitize_headers(r) for r in records))


# "prompt": someone waits for what the consumer does next (a unit's task, a case's
# registration); "bulk": the consumer counts or records, and can take bigger batches.
Pace = Literal["prompt", "bulk"]


def fetch_max_wait_ms(settings: ServiceSettings, pace: Pace) -> int:
    return (settings.kafka_fetch_max_wait_ms if pace == "prompt"
            else max(settings.kafka_fetch_max_wait_ms, settings.kafka_bulk_fetch_max_wait_ms))


async def _raw_decoder(msg: StreamMessage[Any]) -> Any:
    # The consumer decodes envelopes itself: no JSON parsing that could fail here.
    return msg.body


def subscribe(
    broker: KafkaBroker,
    consumer: BatchConsumer[Any],
    topics: Sequence[TopicSpec],
    settings: ServiceSettings,
    description: str,
    pace: Pace = "prompt",
) -> None:
    """Register ``consumer`` for ``topics`` in its own consumer group (its name).

    Offsets are committed only after the batch was applied (NACK_ON_ERROR: an escaping
    error rewinds to the batch's first offsets); a new group starts at the earliest
    offset, so nothing published before the group existed is missed.
    """

    @broker.subscriber(
        *(t.name for t in topics),
        group_id=consumer.name,
        batch=True,
        max_records=settings.consumer_max_records,
        batch_timeout_ms=settings.consumer_batch_timeout_ms,
        fetch_max_wait_ms=fetch_max_wait_ms(settings, pace),
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        parser=_safe_parser,
        decoder=_raw_decoder,
        title=f"{consumer.name}:consume",
        description=description,
    )
    async def on_batch(message: KafkaMessage) -> None:
        records = message.raw_message
        await consumer.process(
            list(records) if isinstance(records, (tuple, list)) else [records])
