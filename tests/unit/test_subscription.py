"""The FastStream wiring of a batch consumer, in memory with TestKafkaBroker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from civicgrid_shared.contracts.envelope import Envelope, new_event
from civicgrid_shared.contracts.events import AppealReceived, Channel
from civicgrid_shared.contracts.topics import APPEALS
from civicgrid_shared.messaging.broker import make_broker
from civicgrid_shared.messaging.consumer import BatchConsumer
from civicgrid_shared.messaging.subscription import subscribe
from civicgrid_shared.settings import ServiceSettings
from faststream.kafka import TestKafkaBroker
from prometheus_client import CollectorRegistry

from tests.unit.test_batch_consumer import FakeDeadLetters, FakeStore, FakeUoW


async def test_published_event_reaches_the_handler_typed() -> None:
    store, dlq = FakeStore(), FakeDeadLetters()
    seen: list[AppealReceived] = []

    async def handler(e: AppealReceived, meta: Envelope, uow: FakeUoW) -> None:
        seen.append(e)
        uow.staged.append(meta.id)

    settings = ServiceSettings()
    broker = make_broker(settings, "unit", registry=CollectorRegistry())
    consumer = BatchConsumer("unit", {AppealReceived: handler}, lambda: FakeUoW(store),  # type: ignore[arg-type,return-value]
                             dlq, max_attempts=2, retry_backoff_s=0)  # type: ignore[arg-type]
    subscribe(broker, consumer, [APPEALS], settings, "test consumer")

    payload = AppealReceived(appeal_id=uuid.uuid4(), tracking_code="ABCDEFGH12",
                             channel=Channel.GRID_APP, received_at=datetime.now(UTC),
                             content="井盖丢失")
    out = new_event(payload, topic=APPEALS.name, key=str(payload.appeal_id), source="/t")
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(
            out.value, APPEALS.name, key=out.key.encode(),
            headers={k: v.decode() for k, v in out.headers},
        )
        await test_broker.publish(b"garbage", APPEALS.name, key=b"x", headers={"ce_id": "1"})
    assert [e.appeal_id for e in seen] == [payload.appeal_id]
    assert store.applied == [out.event_id]
    assert len(dlq.sent) == 1 and dlq.sent[0][1].startswith("envelope:")
