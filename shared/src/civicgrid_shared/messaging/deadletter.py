"""The dead-letter topic: records that could not be processed, with the reason in headers.

The original key, value and headers are kept so the record can be inspected and
replayed; the added headers say who gave up, why and after how many attempts. The
reason is built from exception classes and field paths only, and scrubbed again,
so no personal data reaches a header.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer, ConsumerRecord

from civicgrid_shared.contracts.topics import DEAD_LETTER
from civicgrid_shared.logs import scrub

MAX_REASON = 500


class DeadLetterPublisher:
    def __init__(self, producer: AIOKafkaProducer, service: str) -> None:
        self._producer = producer
        self._service = service

    async def send(self, record: ConsumerRecord, consumer: str, reason: str, attempts: int) -> None:
        """Publish and wait for the broker's ack: the caller commits the offset only after."""
        safe_reason = scrub(reason)[:MAX_REASON]
        headers = [
            (k, v) for k, v in (record.headers or ()) if not k.startswith("dlq_")
        ]
        headers += [
            ("dlq_reason", safe_reason.encode()),
            ("dlq_consumer", consumer.encode()),
            ("dlq_service", self._service.encode()),
            ("dlq_attempts", str(attempts).encode()),
            ("dlq_original_topic", str(record.topic).encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
            ("dlq_failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        await self._producer.send_and_wait(
            DEAD_LETTER.name, value=record.value, key=record.key, headers=headers
        )
