"""TansuBroker with aiokafka: produce, consume in a group, commit; memory-only restarts."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from civicgrid_stack import PortInUseError, TansuBroker
from civicgrid_stack.broker import list_topics
from civicgrid_stack.ports import port_is_free

TOPIC = "stacktest.events.v1"


async def _create_topic(bootstrap: str, partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(TOPIC, num_partitions=partitions, replication_factor=1)]
        )
        described = await admin.describe_topics([TOPIC])
        assert len(described[0]["partitions"]) == partitions
    finally:
        await admin.close()


async def test_produce_consume_commit(broker: TansuBroker) -> None:
    await _create_topic(broker.bootstrap)
    producer = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap, acks="all", enable_idempotence=False
    )
    await producer.start()
    try:
        meta = await producer.send_and_wait(TOPIC, key=b"case-1", value=b"hello")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=broker.bootstrap,
        group_id="stacktest",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=15000)
        values = [m.value for msgs in batch.values() for m in msgs]
        assert values == [b"hello"]
        await consumer.commit()
        tp = TopicPartition(TOPIC, meta.partition)
        assert await consumer.committed(tp) == meta.offset + 1
    finally:
        await consumer.stop()


def test_restart_forgets_topics(broker: TansuBroker) -> None:
    import asyncio

    asyncio.run(_create_topic(broker.bootstrap))
    assert TOPIC in list_topics(broker.bootstrap)
    old_pid = broker.pid
    broker.restart()
    assert broker.is_running() and broker.pid != old_pid
    assert list_topics(broker.bootstrap) == []


def test_kill_and_stop_free_the_port(tmp_path: Path) -> None:
    from localstack_helpers import free_port

    b = TansuBroker(free_port(), log_path=tmp_path / "b.log")
    b.start()
    assert b.is_running() and not port_is_free(b.port)
    b.kill()
    assert not b.is_running() and port_is_free(b.port)
    b.start()
    b.stop()
    assert not b.is_running() and port_is_free(b.port)
    b.stop()  # idempotent
    assert "listening on" in (tmp_path / "b.log").read_text()


def test_port_in_use_is_reported() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        b = TansuBroker(holder.getsockname()[1])
        with pytest.raises(PortInUseError, match="CIVICGRID_BROKER_PORT"):
            b.start()
        assert not b.is_running()
