"""The topic registry: every topic the platform uses, with its partition count.

Names carry a version; the record key is the aggregate id (appeal id on the appeals
topic, case id on the cases topic) so that one aggregate's events stay in order on
one partition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    key: str
    description: str


APPEALS = TopicSpec(
    "civicgrid.appeals.v1", 6, "appeal id",
    "Appeals received by intake from every channel, normalised and classified.",
)
CASES = TopicSpec(
    "civicgrid.cases.v1", 6, "case id",
    "Case life-cycle events owned by dispatch (registered, assigned, ...).",
)
RESPONSES = TopicSpec(
    "civicgrid.unit-responses.v1", 6, "case id",
    "Department systems' responses to their tasks: sign for, return, extend, escalate, resolve.",
)
ENFORCEMENT = TopicSpec(
    "civicgrid.enforcement.v1", 3, "case id",
    "Enforcement case events, and outcomes handed back to dispatch.",
)
DEAD_LETTER = TopicSpec(
    "civicgrid.deadletter.v1", 1, "original key",
    "Records that could not be processed after bounded retries, with the reason in headers.",
)

ALL_TOPICS: tuple[TopicSpec, ...] = (APPEALS, CASES, RESPONSES, ENFORCEMENT, DEAD_LETTER)

TASK_TOPIC_PREFIX = "civicgrid.tasks."


def task_topic(unit_id: str) -> TopicSpec:
    """Each unit's tasks on a topic of its own, so access can be granted per topic.

    Created on first use (there are thousands of units), one partition: a unit's
    task stream is small and its order is the order of assignment.
    """
    return TopicSpec(
        f"{TASK_TOPIC_PREFIX}{unit_id}.v1", 1, "case id",
        f"Tasks assigned to unit {unit_id} (case.assigned and later changes of its cases).",
    )

_NAME = re.compile(r"^civicgrid\.[a-z0-9-]+(\.[a-z0-9-]+)*\.v[0-9]+$")


def validate_registry(topics: tuple[TopicSpec, ...] = ALL_TOPICS) -> None:
    """Names are versioned and unique; partition counts are positive."""
    seen: set[str] = set()
    for topic in topics:
        if not _NAME.match(topic.name):
            raise ValueError(f"topic name {topic.name!r} must look like civicgrid.<name>.v<N>")
        if topic.partitions < 1:
            raise ValueError(f"topic {topic.name} needs at least one partition")
        if topic.name in seen:
            raise ValueError(f"topic {topic.name} is registered twice")
        seen.add(topic.name)


def spec_for(name: str) -> TopicSpec | None:
    """The registered shape of a topic name, including per-unit task topics."""
    for spec in ALL_TOPICS:
        if spec.name == name:
            return spec
    if name.startswith(TASK_TOPIC_PREFIX) and name.endswith(".v1"):
        return task_topic(name[len(TASK_TOPIC_PREFIX):-len(".v1")])
    return None
