"""Broker and producer factories with safe delivery settings (acks=all)."""

from __future__ import annotations

import logging
import ssl
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.helpers import create_ssl_context
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.security import BaseSecurity, SASLScram256, SASLScram512
from prometheus_client import REGISTRY, CollectorRegistry

from civicgrid_shared.logs import get_logger
from civicgrid_shared.settings import ServiceSettings


def _ssl_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    if "SSL" not in settings.kafka_security_protocol:
        return None
    context: ssl.SSLContext = create_ssl_context(cafile=settings.kafka_ssl_cafile)
    return context


def connection_options(settings: ServiceSettings) -> dict[str, Any]:
    """aiokafka keyword arguments for TLS and SASL, from the settings."""
    options: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    context = _ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.kafka_security_protocol.startswith("SASL"):
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=settings.kafka_sasl_password,
        )
    return options


def _security(settings: ServiceSettings) -> BaseSecurity | None:
    if not settings.kafka_security_protocol.startswith("SASL"):
        return BaseSecurity(ssl_context=_ssl_context(settings)) \
            if settings.kafka_security_protocol == "SSL" else None
    scram = SASLScram256 if settings.kafka_sasl_mechanism == "SCRAM-SHA-256" else SASLScram512
    return scram(
        username=settings.kafka_sasl_username or "",
        password=settings.kafka_sasl_password or "",
        ssl_context=_ssl_context(settings),
    )


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
        # FastStream's "Received"/"Processed" lines, one pair per batch, at debug: they
        # carry nothing our own logs do not, and at info they cost each consumer CPU per
        # batch. Its error lines keep their own level.
        log_level=logging.DEBUG,
        graceful_timeout=10.0,
        security=_security(settings),
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
        # Its metadata covers every topic it wrote to (thousands of unit task topics):
        # refreshed seldom; a failed send closes the producer and a new one starts fresh.
        metadata_max_age_ms=settings.kafka_producer_metadata_max_age_ms,
        request_timeout_ms=10_000,
        retry_backoff_ms=100,
        **connection_options(settings),
    )
