"""Render the event documentation from the code: AsyncAPI 3, JSON Schemas, Markdown.

Every function takes the flows to document: the shared catalog
(``civicgrid_shared.contracts.flows.FLOWS``) and each service's own, declared in its
public ``contracts`` module. Shared cannot import the services, so ``tools/contracts.py``
(``make contracts``) collects them all and calls :func:`main`, which writes, or with
``--check`` compares, under docs/: ``asyncapi.json``, ``events.md`` and
``schemas/<event type>/v<N>.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import re
import sys
import uuid
import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from civicgrid_shared.contracts.compat import breaking_changes
from civicgrid_shared.contracts.envelope import EventPayload
from civicgrid_shared.contracts.events import UnitResponse
from civicgrid_shared.contracts.flows import PLATFORM_SERVICES, Flow
from civicgrid_shared.contracts.topics import DEAD_LETTER, RESPONSES, TopicSpec

GENERATOR = "make contracts"

CLOUDEVENTS_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0 attributes in the Kafka protocol binding (binary mode). "
                   "No header ever carries personal data.",
    "required": ["ce_id", "ce_source", "ce_type", "ce_specversion", "ce_time",
                 "ce_correlationid", "ce_schemaversion", "content-type"],
    "properties": {
        "ce_id": {"type": "string", "format": "uuid",
                  "description": "Event id: the idempotency key consumers record in their inbox."},
        "ce_source": {"type": "string", "examples": ["/civicgrid/dispatch"],
                      "description": "The producing service."},
        "ce_type": {"type": "string", "description": "The event type (see the message name)."},
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_time": {"type": "string", "format": "date-time",
                    "description": "When the event was written (UTC)."},
        "ce_subject": {"type": "string",
                       "description": "The aggregate id (case or appeal id); never personal."},
        "ce_correlationid": {"type": "string", "format": "uuid",
                             "description": "Shared by every event caused by one appeal."},
        "ce_causationid": {"type": "string", "format": "uuid",
                           "description": "The id of the event or request that caused this."},
        "ce_schemaversion": {"type": "string",
                             "description": "Payload schema version; bumped on breaking changes."},
        "content-type": {"type": "string", "const": "application/json"},
    },
}

# What civicgrid_shared.messaging.deadletter adds to a record it gives up on (the unit
# tests compare these names with what it really writes).
DEAD_LETTER_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "The original record's headers, unchanged (its ce_* attributes, if it "
                   "had any; earlier dlq_* headers are dropped), plus the dlq_* headers "
                   "below. Header values are UTF-8 text and never carry personal data.",
    "required": ["dlq_reason", "dlq_consumer", "dlq_service", "dlq_attempts",
                 "dlq_original_topic", "dlq_original_partition", "dlq_original_offset",
                 "dlq_failed_at"],
    "properties": {
        "dlq_reason": {
            "type": "string", "maxLength": 500,
            "description": "Why it was given up on, from error classes and field paths, never "
                           "values: `envelope: ...` (not a CloudEvents record; never retried), "
                           "`payload of <type>: <field>: <problem>` (does not match the "
                           "schema; never retried) or `handler: <error>: <field>: <problem>` "
                           "(the consumer's rules refused it, or it kept failing).",
            "examples": ["handler: NotYourCase: unit_id: the case is not assigned to this unit"],
        },
        "dlq_consumer": {"type": "string", "examples": ["dispatch-responses"],
                         "description": "The consumer group that gave up."},
        "dlq_service": {"type": "string", "enum": list(PLATFORM_SERVICES),
                        "description": "The service running that consumer."},
        "dlq_attempts": {"type": "string", "pattern": "^[1-9][0-9]*$",
                         "description": "How often it was tried: 1 when retrying cannot help "
                                        "(undecodable, or refused for good), up to "
                                        "CIVICGRID_CONSUMER_MAX_ATTEMPTS (default 5) "
                                        "otherwise."},
        "dlq_original_topic": {"type": "string",
                               "description": "Where the record was: re-publish it there once "
                                              "the cause is fixed."},
        "dlq_original_partition": {"type": "string", "pattern": "^[0-9]+$",
                                   "description": "Its partition there."},
        "dlq_original_offset": {"type": "string", "pattern": "^[0-9]+$",
                                "description": "Its offset there."},
        "dlq_failed_at": {"type": "string", "format": "date-time",
                          "description": "When it was given up on (UTC, ISO 8601)."},
    },
}

_DEAD_LETTER_EXAMPLE_PAYLOAD: dict[str, Any] = {
    "response_id": "3b241101-e2bb-4255-8caf-4136c566a962",
    "case_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "unit_id": "county-140524-market-supervision",
    "action": "resolve",
    "result": "已现场核查并责令整改。",
    "acted_at": "2026-11-23T10:15:00+08:00",
}
_DEAD_LETTER_EXAMPLE_HEADERS: dict[str, str] = {
    "ce_id": "0f9d2e3c-5a1b-5c7d-9e8f-112233445566",
    "ce_type": UnitResponse.event_type,
    "ce_source": "/departments/county-140524-market-supervision",
    "ce_specversion": "1.0",
    "ce_schemaversion": "1",
    "content-type": "application/json",
    "dlq_reason": "handler: NotYourCase: unit_id: the case is not assigned to this unit",
    "dlq_consumer": "dispatch-responses",
    "dlq_service": "dispatch",
    "dlq_attempts": "1",
    "dlq_original_topic": RESPONSES.name,
    "dlq_original_partition": "4",
    "dlq_original_offset": "10452",
    "dlq_failed_at": "2026-11-23T02:15:01.204312+00:00",
}
DEAD_LETTER_EXAMPLE: dict[str, Any] = {
    "name": "refused-unit-response",
    "summary": "A department answered for a case that is not assigned to it.",
    "headers": _DEAD_LETTER_EXAMPLE_HEADERS,
    "payload": _DEAD_LETTER_EXAMPLE_PAYLOAD,
}
_DEAD_LETTER_CHANNEL = f"{DEAD_LETTER.name}/dead-letter"


# -- descriptions, schemas and examples -------------------------------------------------

def own_doc(model: type[EventPayload]) -> str:
    """The model's own docstring (not one inherited from a base class)."""
    doc = model.__dict__.get("__doc__")
    return inspect.cleandoc(doc) if isinstance(doc, str) else ""


def describe(flow: Flow) -> str:
    """The event in the domain's words: its docstring, then what the flow adds."""
    return "\n\n".join(part for part in (own_doc(flow.event), flow.description.strip()) if part)


def _consumers_text(consumers: Iterable[str]) -> str:
    names = list(dict.fromkeys(consumers))
    return ", ".join(names) if names else "no platform service"


def event_flows(flows: Iterable[Flow]) -> dict[str, Flow]:
    """The first flow of each event type, in order; one model per event type."""
    first: dict[str, Flow] = {}
    seen_pairs: set[tuple[str, str]] = set()
    for flow in flows:
        pair = (flow.topic.name, flow.event.event_type)
        if pair in seen_pairs:
            raise ValueError(f"{pair[1]} on {pair[0]} is declared twice")
        seen_pairs.add(pair)
        known = first.setdefault(flow.event.event_type, flow)
        if known.event is not flow.event:
            raise ValueError(f"event type {flow.event.event_type} names two models: "
                             f"{known.event.__qualname__} and {flow.event.__qualname__}")
    return first


def schema_of(model: type[EventPayload], description: str = "") -> dict[str, Any]:
    schema = model.model_json_schema(mode="serialization")
    if description and "description" not in schema:
        schema["description"] = description
    schema["$id"] = f"https://civicgrid.example/schemas/{model.event_type}/v{model.schema_version}.json"
    schema["x-event-type"] = model.event_type
    schema["x-schema-version"] = model.schema_version
    return schema


def _example_value(name: str, prop: dict[str, Any], defs: dict[str, Any]) -> Any:
    if "$ref" in prop:
        target = defs[prop["$ref"].split("/")[-1]]
        if "enum" in target:
            return target["enum"][0]
        return {k: _example_value(k, v, defs) for k, v in target.get("properties", {}).items()}
    if "anyOf" in prop:
        options = [p for p in prop["anyOf"] if p.get("type") != "null"]
        return _example_value(name, options[0], defs) if options else None
    if "default" in prop and prop["default"] not in (None, [], {}):
        return prop["default"]
    kind, fmt = prop.get("type"), prop.get("format")
    if fmt == "uuid":
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"civicgrid:{name}"))
    if fmt == "date-time":
        return datetime(2026, 11, 23, 9, 30, tzinfo=UTC).isoformat()
    if fmt == "date":
        return date(2026, 11, 23).isoformat()
    if kind == "boolean":
        return False
    if kind == "integer":
        return 1
    if kind == "number":
        return 0.9
    if kind == "array":
        item = _example_value(name, prop.get("items", {}), defs) if name in _LISTS else None
        return [item] if item is not None else []
    return _STRINGS.get(name, name)


# Field values that read like the domain, by field name (per-event ones: Flow.example).
_STRINGS = {
    "channel": "hotline", "tracking_code": "7K3M9Q2XRT",
    "content": "小区门口的路灯坏了，晚上很黑。", "title": "路灯不亮",
    "matter_code": "RD-003", "category_code": "RD", "priority": "normal", "tier": "community",
    "unit_id": "community-140502001002-committee", "case_number": "2026112300000042",
    "contact_phone_masked": "138****1234", "reason": "不属于本单位职责", "result": "已更换灯泡",
    "reason_code": "out_of_territory", "comment": "灯已经亮了，谢谢。",
    "resolution_note": "网格员已当场处理", "grid_worker_id": "gw-140502001002-01",
    "external_id": "12345-20261123-0042", "to_unit_ids": "county-140502-urban-management",
    "county_code": "140502", "township_code": "140502001", "community_code": "140502001002",
    "grid_code": "14050014050200100201",
    "source": "nyc-311-2011", "status": "Closed", "agency": "DOT",
    "category": "Street Condition",
    "team_unit_id": "township-140502001-enforcement", "violation_code": "SV-001",
    "officer_id": "zf-140502001-07", "reviewer_id": "zf-140502001-02",
    "department_kind": "urban_management", "departments": "urban_management",
    "media_kind": "photo", "sha256": hashlib.sha256(b"civicgrid evidence").hexdigest(),
    "outcome": "penalised", "summary": "占道经营（SV-001），ZF20261123000042：罚款200元",
    "kind": "penalty", "procedure": "ordinary", "party_type": "individual",
    "severity": "general", "measures": "order_to_correct", "decision": "penalty",
    "penalty": "罚款200元；责令改正", "party": "张**",
}
_LISTS = {"to_unit_ids", "departments", "case_ids", "measures"}


def example_of(flow: Flow) -> dict[str, Any]:
    """A payload for the flow's event: its own example's fields over derived ones."""
    schema = flow.event.model_json_schema(mode="serialization")
    defs = schema.get("$defs", {})
    example = {k: _example_value(k, v, defs) for k, v in schema.get("properties", {}).items()}
    example.update(flow.example or {})
    return example


# -- AsyncAPI ---------------------------------------------------------------------------

def _channel_name(flow: Flow) -> str:
    return f"{flow.topic.name}/{flow.event.event_type}"


def _channel_description(flow: Flow) -> str:
    text = (f"{describe(flow)}\n\nTopic `{flow.topic.name}` ({flow.topic.partitions} "
            f"partition(s)); record key: {flow.record_key}. Produced by {flow.producer}; "
            f"consumed by {_consumers_text(flow.consumers)}.")
    readers = [c for c in flow.consumers if c in PLATFORM_SERVICES]
    if readers:
        text += (f" A record {' or '.join(readers)} cannot decode or apply goes to "
                 f"`{DEAD_LETTER.name}`.")
    return text


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+(?=[A-Z`(])", text.strip(), maxsplit=1)[0]


def _key_schema(flow: Flow) -> dict[str, Any]:
    key: dict[str, Any] = {"type": "string", "description": flow.record_key}
    if flow.key_format:
        key["format"] = flow.key_format
    return key


def _component_schemas(models: Iterable[type[EventPayload]],
                       descriptions: Mapping[str, str]) -> dict[str, Any]:
    """Payload schemas keyed by event type (two events may share a class name, e.g.
    dispatch's and enforcement's CaseClosed); the types they use keyed by name."""
    out: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(mode="serialization",
                                         ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            if out.setdefault(name, definition) != definition:
                raise ValueError(f"two different types are named {name}; rename one")
        if "description" not in schema and descriptions.get(model.event_type):
            schema["description"] = descriptions[model.event_type]
        out[model.event_type] = schema
    return out


def _dead_letter_producers(flows: Sequence[Flow]) -> list[str]:
    readers = {c for f in flows for c in f.consumers}
    return [s for s in PLATFORM_SERVICES if s in readers]


def _dead_letter_description(flows: Sequence[Flow]) -> str:
    return (
        f"{DEAD_LETTER.description} Every consumer of the platform "
        f"({', '.join(_dead_letter_producers(flows))}) writes here a record it gives up on: "
        "one that is not a CloudEvents record or does not match its event's schema (at "
        "once), one its handler refuses for good (at once), or one that keeps failing "
        "(after bounded retries). The partition then moves on. Faults of the "
        "infrastructure (database or broker away) are retried without limit and never "
        "dead-lettered. The record keeps the original key, value and headers and adds "
        "dlq_* headers; re-publish it to `dlq_original_topic` once the cause is fixed "
        "(consumers' inboxes make a replay of anything already applied harmless). Read "
        "by operators; alert on `civicgrid_events_dead_lettered_total`."
    )


def build_asyncapi(flows: Sequence[Flow]) -> dict[str, Any]:
    first = event_flows(flows)
    broker = KafkaBroker("kafka-1:9092,kafka-2:9092,kafka-3:9092")
    for flow in flows:
        broker.publisher(flow.topic.name, schema=flow.event, title=_channel_name(flow),
                         description=_channel_description(flow))
    broker.publisher(DEAD_LETTER.name, title=_DEAD_LETTER_CHANNEL,
                     description=_dead_letter_description(flows))
    with warnings.catch_warnings():
        # FastStream keys payload schemas by class name; they are replaced below.
        warnings.filterwarnings("ignore", message="Overwriting the message schema")
        doc: dict[str, Any] = AsyncAPI(
            broker, title="civicgrid events", version="1.0.0",
            description="Every topic the civicgrid platform writes or reads: the channel "
                        "systems' raw records, the events between its services and the "
                        "department systems, and the dead-letter topic. Envelope: "
                        "CloudEvents 1.0 in the Kafka binding (binary mode); record key: "
                        "the aggregate id, so one aggregate's events stay in order.",
        ).to_specification().to_jsonable()
    doc["components"]["schemas"] = _component_schemas(
        (f.event for f in first.values()),
        {t: describe(f) for t, f in first.items()})
    by_title = {_channel_name(f).replace("/", "."): f for f in flows}
    topics = {f.topic.name: f.topic for f in flows} | {DEAD_LETTER.name: DEAD_LETTER}
    for name, operation in doc.get("operations", {}).items():
        found = by_title.get(name)
        if found is not None and found.producer not in PLATFORM_SERVICES:
            operation["action"] = "receive"  # written by a system outside the platform
    # One message per event type (FastStream makes one per channel, under keys that
    # AsyncAPI does not allow in components), shared by the channels it travels on.
    ids = _message_ids(flows)
    messages: dict[str, Any] = {}
    for channel in doc.get("channels", {}).values():
        _describe_channel(channel, topics[channel["address"]])
        for ref in channel.get("messages", {}).values():
            title = unquote(ref["$ref"].split("/")[-1]).removesuffix(":Message")
            if title == _DEAD_LETTER_CHANNEL.replace("/", "."):
                message_id, message = "civicgrid.deadletter", _dead_letter_message()
            else:
                flow = by_title[title]
                message_id, message = ids[_channel_name(flow)], _message(flow)
            messages.setdefault(message_id, message)
            ref["$ref"] = f"#/components/messages/{message_id}"
    doc["components"]["messages"] = messages
    return doc


def _message_ids(flows: Sequence[Flow]) -> dict[str, str]:
    """By channel name: the event type, qualified by its key if that differs by topic."""
    keys: dict[str, set[str]] = {}
    for flow in flows:
        keys.setdefault(flow.event.event_type, set()).add(flow.record_key)
    return {_channel_name(f): f.event.event_type if len(keys[f.event.event_type]) == 1
            else f"{f.event.event_type}.{re.sub(r'[^A-Za-z0-9]+', '-', f.record_key).strip('-')}"
            for f in flows}


def _message(flow: Flow) -> dict[str, Any]:
    event_type = flow.event.event_type
    return {
        "name": event_type,
        "title": event_type,
        "summary": _first_sentence(describe(flow)),
        "description": describe(flow),
        "payload": {"$ref": f"#/components/schemas/{event_type}"},
        "headers": CLOUDEVENTS_HEADERS,
        "correlationId": {"location": "$message.header#/ce_correlationid"},
        "bindings": {"kafka": {"key": _key_schema(flow), "bindingVersion": "0.5.0"}},
        "examples": [{
            "name": event_type,
            "headers": {"ce_type": event_type, "ce_specversion": "1.0",
                        "ce_schemaversion": str(flow.event.schema_version),
                        "content-type": "application/json"},
            "payload": example_of(flow),
        }],
    }


def _describe_channel(channel: dict[str, Any], topic: TopicSpec) -> None:
    channel.setdefault("bindings", {}).setdefault("kafka", {})["partitions"] = topic.partitions
    if "{unit_id}" in topic.name:
        channel["parameters"] = {"unit_id": {
            "description": "The unit's id in the platform's unit registry, e.g. "
                           "county-140524-urban-management: one topic per unit.",
            "examples": ["county-140524-urban-management"]}}


def _dead_letter_message() -> dict[str, Any]:
    return {
        "name": "civicgrid.deadletter",
        "title": "dead letter",
        "summary": "A record a consumer gave up on, kept as it was, with the reason.",
        "payload": {
            "description": "The original record value, byte for byte: usually the JSON "
                           "payload of the event its ce_type header names, but possibly not "
                           "JSON at all (which may be why it is here)."},
        "headers": {
            **DEAD_LETTER_HEADERS,
            "properties": {**CLOUDEVENTS_HEADERS["properties"],
                           **DEAD_LETTER_HEADERS["properties"]},
        },
        "correlationId": {"location": "$message.header#/ce_correlationid"},
        "bindings": {"kafka": {
            "key": {"type": "string", "description": "The original record's key, unchanged."},
            "bindingVersion": "0.5.0"}},
        "examples": [DEAD_LETTER_EXAMPLE],
    }


# -- Markdown ---------------------------------------------------------------------------

def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _type_of(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        name = prop["$ref"].split("/")[-1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in prop:
        return " or ".join(_type_of(p) for p in prop["anyOf"])
    kind = str(prop.get("type", "any"))
    if kind == "array":
        kind = f"array of {_type_of(prop.get('items', {}))}"
    if "format" in prop:
        kind += f" ({prop['format']})"
    rules = []
    if "minLength" in prop or "maxLength" in prop:
        rules.append(f"length {prop.get('minLength', 0)}..{prop.get('maxLength', '')}")
    if "minimum" in prop or "maximum" in prop:
        rules.append(f"{prop.get('minimum', '')}..{prop.get('maximum', '')}")
    if "maxItems" in prop:
        rules.append(f"at most {prop['maxItems']}")
    if "pattern" in prop:
        rules.append(f"`{prop['pattern']}`")
    return kind + (f", {', '.join(rules)}" if rules else "")


def _field_table(schema: dict[str, Any]) -> list[str]:
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    meaning = any("description" in p for p in props.values())
    lines = ["| field | type | required |" + (" meaning |" if meaning else ""),
             "|---|---|---|" + ("---|" if meaning else "")]
    for field, prop in props.items():
        row = f"| `{field}` | {_cell(_type_of(prop))} | {'yes' if field in required else ''} |"
        if meaning:
            row += f" {_cell(prop.get('description', ''))} |"
        lines.append(row)
    return lines


def _topics(flows: Sequence[Flow]) -> dict[str, list[Flow]]:
    by_topic: dict[str, list[Flow]] = {}
    for flow in flows:
        by_topic.setdefault(flow.topic.name, []).append(flow)
    return by_topic


def render_markdown(doc: dict[str, Any], flows: Sequence[Flow]) -> str:
    by_topic = _topics(flows)
    lines = [
        "# civicgrid events", "",
        f"Generated from the code by `{GENERATOR}` (`tools/contracts.py`); do not edit.",
        "The machine-readable contract is [asyncapi.json](asyncapi.json) (AsyncAPI 3); each "
        "payload's JSON Schema is in [schemas/](schemas/) as `<event type>/v<N>.json`.", "",
        "Every record is a CloudEvents 1.0 event in the Kafka binding (binary mode): the "
        "attributes are `ce_*` headers, the JSON payload is the value. Consumers ignore "
        "fields and event types they do not know; removing or retyping a field, or "
        "renaming an event type, comes only with a new schema version.", "",
        "## Topics", "",
        "| topic | partitions | key | written by | read by | what |",
        "|---|---|---|---|---|---|",
    ]
    for name, on_topic in by_topic.items():
        topic = on_topic[0].topic
        keys = list(dict.fromkeys(f.record_key for f in on_topic))
        lines.append(
            f"| [`{name}`](#{_anchor(name)}) | {topic.partitions} | {_cell(', '.join(keys))} "
            f"| {', '.join(dict.fromkeys(f.producer for f in on_topic))} "
            f"| {_consumers_text(c for f in on_topic for c in f.consumers)} "
            f"| {_cell(topic.description)} |")
    lines.append(
        f"| [`{DEAD_LETTER.name}`](#dead-letter-topic) | {DEAD_LETTER.partitions} | "
        f"{DEAD_LETTER.key} | {', '.join(_dead_letter_producers(flows))} | operators | "
        f"{_cell(DEAD_LETTER.description)} |")
    lines += ["", "## Envelope (headers)", "", "| header | meaning |", "|---|---|"]
    for name, prop in CLOUDEVENTS_HEADERS["properties"].items():
        lines.append(f"| `{name}` | {prop.get('description', prop.get('const', ''))} |")
    lines += ["", "## Dead-letter topic", "", f"`{DEAD_LETTER.name}`: "
              + _dead_letter_description(flows), "",
              "| header | meaning |", "|---|---|"]
    for name, prop in DEAD_LETTER_HEADERS["properties"].items():
        lines.append(f"| `{name}` | {_cell(prop['description'])} |")
    lines += ["", "## Events by topic", ""]
    schemas = doc["components"]["schemas"]
    documented: dict[str, str] = {}
    for name, on_topic in by_topic.items():
        topic = on_topic[0].topic
        lines += [f"### `{name}`", "", topic.description, "",
                  f"Partitions: {topic.partitions}. Written by "
                  f"{', '.join(dict.fromkeys(f.producer for f in on_topic))}; read by "
                  f"{_consumers_text(c for f in on_topic for c in f.consumers)}.", ""]
        again = [f for f in on_topic if f.event.event_type in documented]
        for flow in on_topic:
            model = flow.event
            if model.event_type in documented:
                continue
            documented[model.event_type] = _event_heading(flow)
            lines += [f"#### {_event_heading(flow)}", "", describe(flow), "",
                      f"Written by {flow.producer}; read by "
                      f"{_consumers_text(flow.consumers)}. Key: {flow.record_key}.", ""]
            lines += _field_table(schemas[model.event_type])
            lines += ["", "<details><summary>example</summary>", "", "```json",
                      json.dumps(example_of(flow), ensure_ascii=False), "```", "",
                      "</details>", ""]
        if again:
            lead = "Also on this topic" if len(again) < len(on_topic) else "On this topic"
            lines += [f"{lead}, with the fields described above:", "",
                      "| event | written by | read by | key |", "|---|---|---|---|"]
            lines += [f"| [`{f.event.event_type}`](#{_anchor(documented[f.event.event_type])}) "
                      f"| {f.producer} | {_consumers_text(f.consumers)} | {_cell(f.record_key)} |"
                      for f in again]
            lines.append("")
    lines += _types_section(schemas)
    return "\n".join(lines).rstrip("\n") + "\n"


def _event_heading(flow: Flow) -> str:
    return f"`{flow.event.event_type}` (schema v{flow.event.schema_version})"


def _anchor(heading: str) -> str:
    return "".join(c for c in heading.lower() if c.isalnum() or c in "-_ ").replace(" ", "-")


def _types_section(schemas: dict[str, Any]) -> list[str]:
    types = sorted(n for n in schemas if "." not in n)
    lines = ["## Types", "", "Enumerations and nested objects the payloads use.", ""]
    for name in types:
        schema = schemas[name]
        lines += [f"### `{name}`", ""]
        if schema.get("description"):
            lines += [inspect.cleandoc(schema["description"]), ""]
        if "enum" in schema:
            lines += ["One of " + ", ".join(f"`{v}`" for v in schema["enum"]) + ".", ""]
        else:
            lines += [*_field_table(schema), ""]
    return lines


# -- files ------------------------------------------------------------------------------

def generated_files(flows: Sequence[Flow]) -> dict[str, str]:
    flows = tuple(flows)
    doc = build_asyncapi(flows)
    files = {
        "asyncapi.json": json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
        "events.md": render_markdown(doc, flows),
    }
    for event_type, flow in event_flows(flows).items():
        model = flow.event
        files[f"schemas/{event_type}/v{model.schema_version}.json"] = json.dumps(
            schema_of(model, describe(flow)), indent=2, ensure_ascii=False,
            sort_keys=True) + "\n"
    return files


def main(argv: Sequence[str] | None, flows: Sequence[Flow]) -> int:
    parser = argparse.ArgumentParser(
        prog="tools/contracts.py",
        description="Write (or check) docs/asyncapi.json, docs/events.md and docs/schemas/ "
                    "from the code; refuses to break a released schema version in place.")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the committed files differ from the code")
    args = parser.parse_args(argv)
    stale = []
    for rel, content in generated_files(flows).items():
        path = args.out / rel
        if rel.startswith("schemas/") and path.exists():
            # A released schema version is a promise: refuse to break it in place.
            problems = breaking_changes(json.loads(path.read_text()), json.loads(content))
            if problems:
                print(f"{rel}: breaking change without a schema_version bump: "
                      + "; ".join(problems), file=sys.stderr)
                return 2
        if args.check:
            if not path.exists() or path.read_text() != content:
                stale.append(rel)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    if stale:
        print(f"out of date (run: {GENERATOR}): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit("The documents cover every service's topics: run `make contracts` "
             "(python tools/contracts.py), not this module.")
