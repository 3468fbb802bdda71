"""Teaching a producer about new topics without re-reading every topic's metadata.

aiokafka re-reads the metadata of *every* topic a producer tracks whenever one is
added. Dispatch writes to thousands of per-unit task topics, so each new unit's first
task made the relay fetch and decode thousands of topics (profiled at 200 cases/s:
about a fifth of dispatch's time). Here the new topics' metadata is fetched alone and
merged into the producer's view; the producer's periodic refresh
(``kafka_producer_metadata_max_age_ms``) still re-reads them all now and then.

aiokafka has no public call for this, so it is done here, in one place, on its
client's internals (pinned by tests/integration/test_producer_metadata.py).
"""

from __future__ import annotations

from collections.abc import Collection

from aiokafka import AIOKafkaProducer
from aiokafka.cluster import ClusterMetadata
from aiokafka.structs import TopicPartition


async def track_topics(producer: AIOKafkaProducer, topics: Collection[str]) -> None:
    """Make ``producer`` ready to send to ``topics`` (which must exist)."""
    client = producer.client
    new = set(topics) - client._topics
    if not new:
        return
    fresh = ClusterMetadata()
    ok = await client._metadata_update(fresh, sorted(new))
    if not ok or any(fresh.partitions_for_topic(t) is None for t in new):
        # Not all known yet (e.g. a leader still being elected): the full refresh, which
        # the producer's send also waits for, sorts it out.
        await client.set_topics(client._topics | new)
        return
    cluster = client.cluster
    with cluster._lock:
        for topic in new:
            partitions = fresh._partitions[topic]
            cluster._partitions[topic] = partitions
            for partition, meta in partitions.items():
                if meta.leader != -1:
                    cluster._broker_partitions[meta.leader].add(
                        TopicPartition(topic, partition))
    # Tracked from now on (periodic refresh), without forcing a refresh of all of them.
    client._topics |= new
