"""The batch consumer's rules with in-memory fakes (the real-broker proof is in integration/)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from civicgrid_shared.contracts.envelope import Envelope, new_event
from civicgrid_shared.contracts.events import AppealReceived, Channel
from civicgrid_shared.contracts.topics import APPEALS
from civicgrid_shared.errors import Rejected, SafeError
from civicgrid_shared.messaging.consumer import BatchConsumer, sanitize_headers


class FakeStore:
    def __init__(self) -> None:
        self.inbox: set[tuple[str, uuid.UUID]] = set()
        self.applied: list[uuid.UUID] = []


class FakeUoW:
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.staged: list[uuid.UUID] = []
        self.claimed: set[tuple[str, uuid.UUID]] = set()

    async def __aenter__(self) -> FakeUoW:
        return self

    async def __aexit__(self, t: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        return None

    async def claim(self, consumer: str, ids: list[uuid.UUID]) -> set[uuid.UUID]:
        fresh = {i for i in ids if (consumer, i) not in self.store.inbox}
        self.claimed = {(consumer, i) for i in fresh}
        return fresh

    async def commit(self) -> None:
        self.store.inbox |= self.claimed
        self.store.applied += self.staged


class FakeDeadLetters:
    def __init__(self) -> None:
        self.sent: list[tuple[ConsumerRecord, str]] = []

    async def send(self, record: ConsumerRecord, consumer: str, reason: str,
                   attempts: int) -> None:
        self.sent.append((record, reason))


def _record(value: bytes, headers: list[tuple[str, bytes]], offset: int) -> ConsumerRecord:
    return ConsumerRecord(topic=APPEALS.name, partition=0, offset=offset, timestamp=0,
                          timestamp_type=0, key=b"k", value=value, checksum=None,
                          serialized_key_size=1, serialized_value_size=len(value),
                          headers=tuple(headers))


def _appeal_record(offset: int, content: str = "路灯坏了", event_id: uuid.UUID | None = None
                   ) -> tuple[ConsumerRecord, uuid.UUID]:
    payload = AppealReceived(appeal_id=uuid.uuid4(), tracking_code="ABCDEFGH12",
                             channel=Channel.HOTLINE, received_at=datetime.now(UTC),
                             content=content)
    out = new_event(payload, topic=APPEALS.name, key="k", source="/t", event_id=event_id)
    return _record(out.value, out.headers, offset), out.event_id


def _consumer(store: FakeStore, dlq: FakeDeadLetters, handler: Any) -> BatchConsumer[Any]:
    return BatchConsumer("test", {AppealReceived: handler}, lambda: FakeUoW(store),  # type: ignore[arg-type,return-value]
                         dlq, max_attempts=3, retry_backoff_s=0)  # type: ignore[arg-type]


async def _apply(e: AppealReceived, meta: Envelope, uow: FakeUoW) -> None:
    if e.content == "poison":
        raise SafeError("this appeal breaks the handler")
    uow.staged.append(meta.id)


async def test_batch_applies_each_event_once_even_when_redelivered() -> None:
    store, dlq = FakeStore(), FakeDeadLetters()
    consumer = _consumer(store, dlq, _apply)
    records = [_appeal_record(i) for i in range(5)]
    await consumer.process([r for r, _ in records])
    await consumer.process([r for r, _ in records])  # redelivery after a lost commit
    assert store.applied == [eid for _, eid in records]
    assert dlq.sent == []


async def test_same_event_twice_in_one_batch_is_applied_once() -> None:
    store, dlq = FakeStore(), FakeDeadLetters()
    eid = uuid.uuid4()
    first, _ = _appeal_record(0, event_id=eid)
    second, _ = _appeal_record(1, event_id=eid)
    await _consumer(store, dlq, _apply).process([first, second])
    assert store.applied == [eid]


async def test_poison_event_goes_to_dead_letters_and_neighbours_go_through() -> None:
    store, dlq = FakeStore(), FakeDeadLetters()
    good1, id1 = _appeal_record(0)
    bad, _ = _appeal_record(1, content="poison")
    good2, id2 = _appeal_record(2)
    await _consumer(store, dlq, _apply).process([good1, bad, good2])
    assert store.applied == [id1, id2]
    assert [r.offset for r, _ in dlq.sent] == [1]
    assert "breaks the handler" in dlq.sent[0][1]


async def test_undecodable_records_are_dead_lettered_with_reason() -> None:
    store, dlq = FakeStore(), FakeDeadLetters()
    garbage = _record(b"\xff\xfe not json", [("ce_id", b"nope")], 0)
    good, gid = _appeal_record(1)
    bad_payload, _ = _appeal_record(2)
    bad_payload = _record(b'{"appeal_id": "13812341234"}', list(bad_payload.headers), 2)
    await _consumer(store, dlq, _apply).process([garbage, good, bad_payload])
    assert store.applied == [gid]
    reasons = [reason for _, reason in dlq.sent]
    assert reasons[0].startswith("envelope:")
    assert reasons[1].startswith("payload of civicgrid.appeal.received:")
    assert "appeal_id" in reasons[1] and "13812341234" not in reasons[1]


async def test_unknown_event_types_are_skipped_not_dead_lettered() -> None:
    store, dlq = FakeStore(), FakeDeadLetters()
    record, _ = _appeal_record(0)
    headers = [(k, b"civicgrid.something.new" if k == "ce_type" else v)
               for k, v in record.headers]
    await _consumer(store, dlq, _apply).process([_record(record.value, headers, 0)])
    assert store.applied == [] and dlq.sent == []


async def test_transient_fault_is_raised_for_redelivery_never_dead_lettered() -> None:
    store, dlq = FakeStore(), FakeDeadLetters()

    async def db_down(e: AppealReceived, meta: Envelope, uow: FakeUoW) -> None:
        raise asyncpg.exceptions.CannotConnectNowError("starting up")

    record, _ = _appeal_record(0)
    with pytest.raises(asyncpg.exceptions.CannotConnectNowError):
        await _consumer(store, dlq, db_down).process([record])
    assert dlq.sent == [] and store.applied == []


def test_invalid_utf8_headers_are_replaced() -> None:
    record = _record(b"{}", [("ce_id", b"\xff\xfe")], 0)
    clean = sanitize_headers(record)
    assert clean.headers[0][1].decode("utf-8")


async def test_rejected_event_is_dead_lettered_without_retries() -> None:
    store, dlq = FakeStore(), FakeDeadLetters()
    calls = 0

    async def refuse(e: AppealReceived, meta: Envelope, uow: FakeUoW) -> None:
        nonlocal calls
        calls += 1
        raise Rejected("case_id: no such case")

    record, _ = _appeal_record(0)
    await _consumer(store, dlq, refuse).process([record])
    assert calls == 2  # once in the batch, once alone: then no retries
    assert len(dlq.sent) == 1 and "no such case" in dlq.sent[0][1]


def test_a_wrapped_connection_loss_is_transient() -> None:
    from civicgrid_shared.errors import is_transient

    try:
        try:
            raise asyncpg.exceptions.AdminShutdownError("terminating connection")
        except asyncpg.PostgresError as cause:
            raise asyncpg.exceptions.InternalClientError("protocol broke") from cause
    except asyncpg.exceptions.InternalClientError as wrapped:
        assert is_transient(wrapped)
    assert not is_transient(SafeError("bad input"))
