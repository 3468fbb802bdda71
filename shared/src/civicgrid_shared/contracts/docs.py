"""Generate the event documentation from the code: AsyncAPI 3, JSON Schemas, Markdown.

``python -m civicgrid_shared.contracts.docs [--check]`` writes (or checks) under docs/:
``asyncapi.json``, ``events.md`` and ``schemas/<event type>/v<N>.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from civicgrid_shared.contracts.compat import breaking_changes
from civicgrid_shared.contracts.envelope import EventPayload
from civicgrid_shared.contracts.events import EVENT_TYPES
from civicgrid_shared.contracts.flows import FLOWS, Flow
from civicgrid_shared.contracts.topics import ALL_TOPICS

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


def schema_of(model: type[EventPayload]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="serialization")
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
    if kind == "boolean":
        return False
    if kind == "integer":
        return 1
    if kind == "number":
        return 0.9
    if kind == "array":
        return []
    return _STRINGS.get(name, name)


_STRINGS = {
    "channel": "hotline", "tracking_code": "7K3M9Q2XRT",
    "content": "小区门口的路灯坏了，晚上很黑。",
    "matter_code": "CA-001", "category_code": "CA", "priority": "normal", "tier": "community",
    "unit_id": "community-140502001002-committee", "case_number": "2026112300000042",
    "contact_phone_masked": "138****1234", "reason": "不属于本单位职责", "result": "已更换灯泡",
}


def example_of(model: type[EventPayload]) -> dict[str, Any]:
    schema = model.model_json_schema(mode="serialization")
    defs = schema.get("$defs", {})
    return {k: _example_value(k, v, defs) for k, v in schema.get("properties", {}).items()}


def _channel_name(flow: Flow) -> str:
    return f"{flow.topic.name}/{flow.event.event_type}"


def build_asyncapi() -> dict[str, Any]:
    broker = KafkaBroker("kafka-1:9092,kafka-2:9092,kafka-3:9092")
    for flow in FLOWS:
        description = (
            f"{(flow.event.__doc__ or '').strip()}\n\nTopic `{flow.topic.name}` "
            f"({flow.topic.partitions} partition(s), key: {flow.topic.key}). "
            f"Produced by {flow.producer}; consumed by {', '.join(flow.consumers)}."
        )
        broker.publisher(flow.topic.name, schema=flow.event, title=_channel_name(flow),
                         description=description)
    doc: dict[str, Any] = AsyncAPI(
        broker, title="civicgrid events", version="1.0.0",
        description="Every event on the civicgrid bus. Envelope: CloudEvents 1.0 in the Kafka "
                    "binding; record key: the aggregate id, so one case's events stay in order.",
    ).to_specification().to_jsonable()
    messages = doc.get("components", {}).get("messages", {})
    # FastStream may normalise "/" in titles to "."; match either spelling.
    by_title = {_channel_name(f).replace("/", "."): f for f in FLOWS}
    for name, message in messages.items():
        found = by_title.get(name.removesuffix(":Message").replace("/", "."))
        if found is None:
            continue
        flow = found
        message["name"] = flow.event.event_type
        message["headers"] = CLOUDEVENTS_HEADERS
        message["bindings"] = {"kafka": {
            "key": {"type": "string", "format": "uuid", "description": flow.topic.key},
            "bindingVersion": "0.5.0"}}
        message["examples"] = [{
            "name": flow.event.event_type,
            "headers": {"ce_type": flow.event.event_type, "ce_specversion": "1.0",
                        "ce_schemaversion": str(flow.event.schema_version),
                        "content-type": "application/json"},
            "payload": example_of(flow.event),
        }]
    return doc


def render_markdown(doc: dict[str, Any]) -> str:
    lines = ["# civicgrid events", "",
             "Generated by `python -m civicgrid_shared.contracts.docs` from the code; do not edit.",
             "The machine-readable contract is [asyncapi.json](asyncapi.json); payload schemas "
             "are in [schemas/](schemas/).", "", "## Topics", "",
             "| topic | partitions | key | what |", "|---|---|---|---|"]
    for t in ALL_TOPICS:
        lines.append(f"| `{t.name}` | {t.partitions} | {t.key} | {t.description} |")
    lines.append("| `civicgrid.tasks.{unit_id}.v1` | 1 | case id | each unit's own tasks |")
    lines += ["", "## Envelope (headers)", "", "| header | meaning |", "|---|---|"]
    for name, prop in CLOUDEVENTS_HEADERS["properties"].items():
        lines.append(f"| `{name}` | {prop.get('description', prop.get('const', ''))} |")
    lines += ["", "## Events", ""]
    seen: set[str] = set()
    for flow in FLOWS:
        model = flow.event
        if model.event_type not in seen:
            seen.add(model.event_type)
            schema = model.model_json_schema(mode="serialization")
            required = set(schema.get("required", []))
            lines += [f"### `{model.event_type}` (schema v{model.schema_version})", "",
                      (model.__doc__ or "").strip(), "",
                      "| field | type | required |", "|---|---|---|"]
            for field, prop in schema.get("properties", {}).items():
                kind = prop.get("type") or prop.get("format") or "see schema"
                if "anyOf" in prop:
                    kind = " or ".join(p.get("type", p.get("$ref", "?").split("/")[-1])
                                       for p in prop["anyOf"])
                elif "$ref" in prop:
                    kind = prop["$ref"].split("/")[-1]
                lines.append(f"| `{field}` | {kind} | {'yes' if field in required else ''} |")
            lines += [""]
        lines.append(f"- on `{flow.topic.name}`: produced by {flow.producer}, consumed by "
                     f"{', '.join(flow.consumers)}")
        lines.append("")
    return "\n".join(lines) + "\n"


def generated_files() -> dict[str, str]:
    doc = build_asyncapi()
    files = {
        "asyncapi.json": json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
        "events.md": render_markdown(doc),
    }
    for model in EVENT_TYPES.values():
        files[f"schemas/{model.event_type}/v{model.schema_version}.json"] = json.dumps(
            schema_of(model), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the committed files differ from the code")
    args = parser.parse_args(argv)
    stale = []
    for rel, content in generated_files().items():
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
        print("out of date (run: make contracts): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
