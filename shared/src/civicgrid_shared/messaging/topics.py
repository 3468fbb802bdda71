"""Explicit topic creation from the registry (auto-created topics get the wrong shape)."""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError
from aiokafka.protocol.metadata import MetadataRequest

from civicgrid_shared.contracts.topics import TopicSpec
from civicgrid_shared.messaging.broker import connection_options
from civicgrid_shared.settings import ServiceSettings


def admin_client(settings: ServiceSettings, client_id: str) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=client_id,
        request_timeout_ms=5000,
        # An admin client tracks no topics, and aiokafka refreshes such a client with the
        # metadata of *every* topic in the cluster (thousands of unit task topics): the
        # calls here ask about their own topics, so the periodic refresh is kept rare.
        metadata_max_age_ms=settings.kafka_admin_metadata_max_age_ms,
        **connection_options(settings),
    )


async def ensure_topics(
    admin: AIOKafkaAdminClient, specs: Iterable[TopicSpec], settings: ServiceSettings
) -> list[str]:
    """Create missing topics with their registered partition counts; return those created."""
    specs = list(specs)
    existing = await existing_topics(admin, [s.name for s in specs])
    configs: dict[str, str] = {}
    if settings.kafka_min_insync_replicas is not None:
        configs["min.insync.replicas"] = str(settings.kafka_min_insync_replicas)
    wanted = [
        NewTopic(
            name=s.name,
            num_partitions=s.partitions,
            replication_factor=settings.kafka_replication_factor,
            topic_configs=configs,
        )
        for s in specs
        if s.name not in existing
    ]
    if not wanted:
        return []
    created: list[str] = []
    for topic in wanted:
        # One request per topic: a topic created concurrently by another service is fine.
        # (In turn: the embedded broker timed out on 200 at once.)
        try:
            response = await admin.create_topics([topic])
        except TopicAlreadyExistsError:
            continue
        for name, code, *_ in getattr(response, "topic_errors", []):
            if code not in (0, TopicAlreadyExistsError.errno):
                raise RuntimeError(f"could not create topic {name}: error code {code}")
        created.append(topic.name)
    return created


async def existing_topics(admin: AIOKafkaAdminClient, names: list[str]) -> set[str]:
    """Which of these topics exist, asking about them alone (see ``describe_partitions``)."""
    return set(await describe_partitions(admin, names))


async def missing_topics(admin: AIOKafkaAdminClient, specs: Iterable[TopicSpec]) -> list[str]:
    names = [s.name for s in specs]
    existing = await existing_topics(admin, names)
    return [n for n in names if n not in existing]


async def describe_partitions(admin: AIOKafkaAdminClient,
                              names: list[str]) -> dict[str, int]:
    """How many partitions each of these topics that exists has, asking about them alone.

    ``list_topics`` fetches the metadata of every topic in the cluster (thousands of unit
    task topics), and asking about a missing topic the usual way lets the broker
    auto-create it with the wrong shape: hence a metadata request for just these names
    with auto-creation off (the admin client has no public call for it).
    """
    if not names:
        return {}
    response = await admin._send_request(
        MetadataRequest(names, allow_auto_topic_creation=False))
    # Any other error (e.g. no leader yet for a topic just created) means it exists.
    return {t["topic"]: len(t["partitions"]) for t in response.to_object()["topics"]
            if t["error_code"] != UnknownTopicOrPartitionError.errno}
