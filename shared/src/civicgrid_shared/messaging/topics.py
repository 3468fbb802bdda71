"""Explicit topic creation from the registry (auto-created topics get the wrong shape)."""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from civicgrid_shared.contracts.topics import TopicSpec
from civicgrid_shared.messaging.broker import connection_options
from civicgrid_shared.settings import ServiceSettings


def admin_client(settings: ServiceSettings, client_id: str) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=client_id,
        request_timeout_ms=5000,
        metadata_max_age_ms=settings.kafka_metadata_max_age_ms,
        **connection_options(settings),
    )


async def ensure_topics(
    admin: AIOKafkaAdminClient, specs: Iterable[TopicSpec], settings: ServiceSettings
) -> list[str]:
    """Create missing topics with their registered partition counts; return those created."""
    specs = list(specs)
    existing = set(await admin.list_topics())
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
        try:
            response = await admin.create_topics([topic])
        except TopicAlreadyExistsError:
            continue
        for name, code, *_ in getattr(response, "topic_errors", []):
            if code not in (0, TopicAlreadyExistsError.errno):
                raise RuntimeError(f"could not create topic {name}: error code {code}")
        created.append(topic.name)
    return created


async def missing_topics(admin: AIOKafkaAdminClient, specs: Iterable[TopicSpec]) -> list[str]:
    existing = set(await admin.list_topics())
    return [s.name for s in specs if s.name not in existing]
