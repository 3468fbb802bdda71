"""Prometheus metrics shared by the delivery machinery.

One prefix (``civicgrid_``), base units, ``_total`` for counters, bounded labels only
(service, topic, consumer, reason class): never ids, phones or free text.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

OUTBOX_PUBLISHED = Counter(
    "civicgrid_outbox_published_total", "Outbox rows published to the broker.", ["service"]
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "civicgrid_outbox_publish_failures_total", "Failed outbox publish rounds.", ["service"]
)
OUTBOX_BACKLOG = Gauge(
    "civicgrid_outbox_backlog", "Outbox rows not yet published.", ["service"]
)
OUTBOX_OLDEST_AGE = Gauge(
    "civicgrid_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row.", ["service"]
)
OUTBOX_REDRIVEN = Counter(
    "civicgrid_outbox_redriven_total", "Outbox rows re-sent after the broker lost them.",
    ["service"],
)
EVENTS_CONSUMED = Counter(
    "civicgrid_events_consumed_total", "Events processed by a consumer.", ["consumer", "topic"]
)
EVENTS_DUPLICATE = Counter(
    "civicgrid_events_duplicate_total", "Redelivered events skipped by the inbox.", ["consumer"]
)
EVENTS_IGNORED = Counter(
    "civicgrid_events_ignored_total", "Events of types the consumer does not handle.", ["consumer"]
)
EVENTS_DEAD_LETTERED = Counter(
    "civicgrid_events_dead_lettered_total", "Records sent to the dead-letter topic.",
    ["consumer", "reason"],
)
EVENT_RETRIES = Counter(
    "civicgrid_event_retries_total", "Processing attempts that failed and were retried.",
    ["consumer"],
)
BATCH_SECONDS = Histogram(
    "civicgrid_consumer_batch_seconds", "Time to process one consumed batch.", ["consumer"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
CONSUMER_LAG = Gauge(
    "civicgrid_consumer_lag_records", "Records behind the end of the log.", ["consumer", "topic"]
)
BROKER_RESETS = Counter(
    "civicgrid_broker_resets_total", "Times the broker was found to have lost its topics.",
    ["service"],
)
