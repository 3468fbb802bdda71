"""The outbox relay when the broker resets while a round is out (real PostgreSQL).

The embedded broker forgets everything when it restarts. A round that got some of its
acknowledgements from the broker that then died must not stay marked published: the
re-drive after the reset cannot see its rows (locked and unmarked while it runs). The
producer here is a stand-in that holds its acknowledgements until the test lets them
go, to put the reset exactly inside a round; the fault test
(``test_faults.py``, kill -9 of the broker) is the proof with the real broker.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from civicgrid_shared.contracts.envelope import new_event
from civicgrid_shared.contracts.events import AppealReceived, Channel, TerritoryRef
from civicgrid_shared.contracts.topics import APPEALS
from civicgrid_shared.db import outbox
from civicgrid_shared.db.migrate import migrate
from civicgrid_shared.messaging.relay import OutboxRelay
from civicgrid_shared.messaging.topics import admin_client, describe_partitions
from civicgrid_shared.settings import ServiceSettings
from civicgrid_stack.broker import TansuBroker
from civicgrid_stack.stack import Stack

from tests.integration.helpers import schema_pool

pytestmark = pytest.mark.integration


class _HeldProducer:
    """Accepts sends at once and acknowledges them when ``release`` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.all_sent = asyncio.Event()  # set when ``expect`` sends have come
        self.expect = 0
        self.sent = 0
        self._acks: list[asyncio.Task[None]] = []

    async def send(self, topic: str, value: bytes, key: bytes,
                   headers: list[tuple[str, bytes]]) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def ack() -> None:
            await self.release.wait()
            future.set_result(None)

        self._acks.append(asyncio.create_task(ack()))
        self.sent += 1
        if self.sent >= self.expect:
            self.all_sent.set()
        return future


def _event() -> Any:
    appeal = AppealReceived(
        appeal_id=uuid.uuid4(), tracking_code="RELAY", channel=Channel.HOTLINE,
        received_at=datetime.now(UTC), content="路灯坏了",
        territory=TerritoryRef(county_code="140502"))
    return new_event(appeal, topic=APPEALS.name, key=str(appeal.appeal_id), source="/test")


async def test_a_round_out_while_the_broker_reset_sends_its_rows_again(
        stack: Stack, tmp_path: Path) -> None:
    schema = f"relay_{uuid.uuid4().hex[:8]}"
    dsn = stack.postgres.dsn()
    await migrate(dsn, schema, tmp_path)  # the shared delivery tables only
    async with schema_pool(stack, schema, 3) as pool:
        async with pool.acquire() as conn, conn.transaction():
            await outbox.append(conn, [_event() for _ in range(3)], schema)
        relay = OutboxRelay(pool, schema, ServiceSettings(database_url=dsn), "test")
        held = _HeldProducer()

        async def producer() -> Any:
            return held

        async def known(names: set[str]) -> None:
            return None

        relay._get_producer = producer  # type: ignore[method-assign]
        relay._ensure_topics = known  # type: ignore[method-assign]
        relay._tracked = {APPEALS.name}

        async def unpublished() -> int:
            async with pool.acquire() as conn:
                return int(await conn.fetchval(
                    "SELECT count(*) FROM outbox WHERE published_at IS NULL"))

        # A round is out (sent, not yet acknowledged) when the watch handles a reset.
        held.expect = 3
        round_ = asyncio.create_task(relay.publish_once())
        await asyncio.wait_for(held.all_sent.wait(), 10)
        await relay.redrive_recent()
        held.release.set()
        assert await round_ == 0
        assert await unpublished() == 3, "a round that straddled a reset stayed published"

        # The next round, with no reset meanwhile, publishes them.
        assert await relay.publish_once() == 3
        assert await unpublished() == 0
        assert held.sent == 6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _read_all(settings: ServiceSettings, topic: str) -> set[str]:
    """Every event id the partitions the topic's metadata lists hold, from their start."""
    admin = admin_client(settings, "test-reader")
    await admin.start()
    try:
        partitions = (await describe_partitions(admin, [topic]))[topic]
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        ids: set[str] = set()
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                ids |= {dict(r.headers)["ce_id"].decode() for r in records}
        return ids
    finally:
        await consumer.stop()


async def test_rows_re_sent_after_a_broker_reset_land_where_consumers_read(
        stack: Stack, tmp_path: Path) -> None:
    """The embedded broker, restarted, creates a topic a client touches first with its
    default 4 partitions, and acknowledges writes to partitions it does not list. A
    relay whose producer kept the old metadata (6 partitions) put the re-sent rows of
    two partitions there, where no consumer reads (test_faults lost 84 of 368 appeals
    so). After the re-drive every row must be readable from the topic's partitions."""
    broker = TansuBroker(_free_port(), log_path=tmp_path / "broker.log")
    broker.start()
    schema = f"relay_{uuid.uuid4().hex[:8]}"
    dsn = stack.postgres.dsn()
    settings = ServiceSettings(database_url=dsn, kafka_bootstrap=broker.bootstrap)
    try:
        await migrate(dsn, schema, tmp_path)
        async with schema_pool(stack, schema, 3) as pool:
            relay = OutboxRelay(pool, schema, settings, "test")
            before = [_event() for _ in range(24)]
            async with pool.acquire() as conn, conn.transaction():
                await outbox.append(conn, before, schema)
            while await relay.publish_once():
                pass
            sent = {str(e.event_id) for e in before}
            assert await _read_all(settings, APPEALS.name) == sent

            broker.kill()  # memory lost
            await asyncio.sleep(0.5)
            broker.start()
            # A client touches the topic first (as a consumer's metadata request does in
            # the stack): the broker creates it with its default partitions.
            toucher = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
            await toucher.start()
            try:
                assert len(await toucher.partitions_for(APPEALS.name)) < APPEALS.partitions
            finally:
                await toucher.stop()
            # Rows committed before the watch noticed: the relay sends them with its old
            # producer (the old metadata).
            after = [_event() for _ in range(24)]
            async with pool.acquire() as conn, conn.transaction():
                await outbox.append(conn, after, schema)
            while await relay.publish_once():
                pass
            # The watch's recovery, then the relay's rounds.
            await relay.redrive_recent()
            while await relay.publish_once():
                pass
            await relay.stop()
            read = await _read_all(settings, APPEALS.name)
            lost = {str(e.event_id) for e in before + after} - read
            assert not lost, f"{len(lost)} of {len(before) + len(after)} rows unreadable"
    finally:
        broker.stop()
