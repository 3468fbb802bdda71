"""Broker and producer factories with safe delivery settings (acks=all)."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import REGISTRY, CollectorRegistry

from civicgrid_shared.logs import get_logger
from civicgrid_shared.settings import ServiceSettings


def make_broker(
    settings: ServiceSettings, service: str, registry: CollectorRegistry = REGISTRY
) -> KafkaBroker:
    """The service's FastStream broker: used for subscribers and the AsyncAPI document."""
    return KafkaBroker(
        settings.kafka_bootstrap,
        client_id=f"civicgrid-{service}",
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        linger_ms=settings.kafka_linger_ms,
        max_batch_size=settings.kafka_max_batch_size,
        metadata_max_age_ms=settings.kafka_metadata_max_age_ms,
        request_timeout_ms=10_000,
        # Topics are created explicitly with their partition counts, never by accident.
        allow_auto_create_topics=False,
        middlewares=[
            KafkaPrometheusMiddleware(
                registry=registry, app_name=service, metrics_prefix="civicgrid_faststream"
            )
        ],
        logger=get_logger("faststream"),
        graceful_timeout=10.0,
    )


def make_producer(settings: ServiceSettings, client_id: str) -> AIOKafkaProducer:
    """A plain producer for the outbox relay and the dead-letter publisher."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        linger_ms=settings.kafka_linger_ms,
        max_batch_size=settings.kafka_max_batch_size,
        metadata_max_age_ms=settings.kafka_metadata_max_age_ms,
        request_timeout_ms=10_000,
        retry_backoff_ms=100,
    )
