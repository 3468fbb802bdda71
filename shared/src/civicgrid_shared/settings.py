"""Settings every service shares, read from the environment (prefix ``CIVICGRID_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What a service needs to reach its database and the broker.

    Defaults fit the embedded local stack (``make run``); a multi-machine deployment
    overrides them through the environment only: the code is the same.
    """

    model_config = SettingsConfigDict(env_prefix="CIVICGRID_", extra="ignore")

    env: str = "local"
    database_url: str = "postgresql://postgres@127.0.0.1:5433/civicgrid"
    db_pool_min: int = 2
    db_pool_max: int = 10

    kafka_bootstrap: str = "127.0.0.1:9092"
    # The embedded broker (tansu) cannot do InitProducerId v0, so idempotence is a
    # setting: on for Apache Kafka, off for the embedded broker.
    kafka_idempotence: bool = False
    kafka_replication_factor: int = 1
    kafka_min_insync_replicas: int | None = None
    # The embedded broker does not reliably answer a waiting fetch when data arrives: under
    # a steady stream a record waits about a third of this (median) and up to all of it
    # (measured 2026-11-25: 500 ms gave p50 135 ms, p99 257 ms per hop; 20 ms gave p50
    # 7 ms, p99 14 ms). So it is short here, at the price of idle consumers polling;
    # on Apache Kafka, which answers at once, use its default 500.
    kafka_fetch_max_wait_ms: int = 20
    # Consumers nobody waits on (indicators, citizens' status notes, hand-over leads) take
    # bigger, rarer batches: each poll costs the broker and the service CPU whether or not
    # it brings records, and a bigger batch merges one case's events into one write.
    # Measured on the embedded broker: see BENCHMARKS.md, session 5.
    kafka_bulk_fetch_max_wait_ms: int = 250
    # LeaveGroup is ignored by the embedded broker: a short session keeps rebalances short.
    kafka_session_timeout_ms: int = 6000
    kafka_heartbeat_interval_ms: int = 1000
    kafka_metadata_max_age_ms: int = 5000
    kafka_producer_metadata_max_age_ms: int = 60000
    kafka_admin_metadata_max_age_ms: int = 600000
    # Apache Kafka in production: SASL (SCRAM) over TLS, one principal per service and
    # per department (deploy/README.md). The embedded broker needs none of this.
    kafka_security_protocol: str = "PLAINTEXT"  # PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    kafka_ssl_cafile: str | None = None
    kafka_linger_ms: int = 2
    kafka_max_batch_size: int = 256 * 1024
    consumer_max_records: int = 1000
    consumer_batch_timeout_ms: int = 20

    # Bounded retries before a message goes to the dead-letter topic.
    consumer_max_attempts: int = 5
    consumer_retry_backoff_s: float = 0.2

    outbox_batch_size: int = 2000
    outbox_idle_poll_s: float = 0.25
    # Published rows are kept this long so they can be re-driven after a broker loses them.
    outbox_retention_s: float = 3600.0
    broker_watch_interval_s: float = 2.0

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000)
    log_level: str = "INFO"
