"""The relay's producer learns new topics' metadata alone (producer_metadata.py leans on
aiokafka's internals: this pins that it still works with the installed aiokafka)."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from civicgrid_shared.messaging.producer_metadata import track_topics
from civicgrid_stack.stack import Stack


async def test_new_topics_are_learnt_without_a_full_refresh(stack: Stack) -> None:
    bootstrap = stack.broker.bootstrap
    run = uuid.uuid4().hex[:8]
    first = [f"civicgrid.pmtest.{run}.a{i}.v1" for i in range(3)]
    later = [f"civicgrid.pmtest.{run}.b{i}.v1" for i in range(2)]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, num_partitions=p, replication_factor=1)
                                   for p, t in enumerate(first + later, start=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                enable_idempotence=False)
    await producer.start()
    try:
        await track_topics(producer, first)
        refreshed = []
        original = producer.client._metadata_update

        async def spy(cluster: object, topics: list[str]) -> bool:
            refreshed.append(sorted(topics))
            return bool(await original(cluster, topics))

        producer.client._metadata_update = spy  # type: ignore[method-assign]
        await track_topics(producer, first + later)
        # Only the two new topics were asked about, and all five are tracked.
        assert refreshed == [sorted(later)]
        assert producer.client._topics >= set(first + later)
        for p, topic in enumerate(first + later, start=1):
            assert producer.client.cluster.partitions_for_topic(topic) == set(range(p))
            await producer.send_and_wait(topic, value=topic.encode(), key=b"k")
        assert len(refreshed) == 1  # sending needed no further metadata
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(*(first + later), bootstrap_servers=bootstrap,
                                auto_offset_reset="earliest", group_id=f"pmtest-{run}",
                                session_timeout_ms=6000, heartbeat_interval_ms=1000)
    await consumer.start()
    try:
        seen: set[str] = set()
        for _ in range(30):
            batch = await consumer.getmany(timeout_ms=1000)
            seen |= {m.value.decode() for msgs in batch.values() for m in msgs if m.value}
            if seen >= set(first + later):
                break
        assert seen == set(first + later)
    finally:
        await consumer.stop()
