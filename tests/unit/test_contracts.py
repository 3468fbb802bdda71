"""The committed contract documents match the code, and versions are never broken in place.

The documents come from ``tools/contracts.py`` (``make contracts``), which collects the
shared flows and every service's own; these tests load that script by its path, as
``make`` runs it, so they check exactly what ``make contracts`` writes.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest
from aiokafka import ConsumerRecord
from civicgrid_shared.contracts.compat import breaking_changes
from civicgrid_shared.contracts.docs import (
    DEAD_LETTER_EXAMPLE,
    DEAD_LETTER_HEADERS,
    describe,
    event_flows,
    example_of,
)
from civicgrid_shared.contracts.events import UnitResponse
from civicgrid_shared.contracts.flows import PLATFORM_SERVICES, Flow
from civicgrid_shared.contracts.topics import DEAD_LETTER, spec_for
from civicgrid_shared.messaging.deadletter import DeadLetterPublisher

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
TOOL_PATH = ROOT / "tools" / "contracts.py"


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("civicgrid_contracts_tool", TOOL_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = _load_tool()
FLOWS: tuple[Flow, ...] = TOOL.FLOWS
GENERATED: dict[str, str] = TOOL.generated_files()
EVENTS = {event_type: flow.event for event_type, flow in event_flows(FLOWS).items()}


def _schema_file(event_type: str) -> str:
    return f"schemas/{event_type}/v{EVENTS[event_type].schema_version}.json"


def test_make_contracts_runs_the_same_aggregator() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ncontracts:", 1)[1].split("\n\n", 1)[0]
    assert "python tools/contracts.py" in recipe


@pytest.mark.parametrize("rel", sorted(GENERATED))
def test_committed_document_matches_the_code(rel: str) -> None:
    path = DOCS / rel
    assert path.exists(), f"docs/{rel} is missing: run `make contracts` and commit it"
    assert path.read_text() == GENERATED[rel], f"docs/{rel} is stale: run `make contracts`"


def test_no_event_type_was_renamed_or_removed() -> None:
    released = {p.name for p in (DOCS / "schemas").iterdir() if p.is_dir()}
    gone = released - set(EVENTS)
    assert not gone, f"event types gone from the code: {gone}"


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_every_released_version_is_still_readable(event_type: str) -> None:
    current = json.loads(GENERATED[_schema_file(event_type)])
    released = DOCS / _schema_file(event_type)
    if released.exists():
        assert breaking_changes(json.loads(released.read_text()), current) == []


def test_the_generator_refuses_to_break_a_released_version(tmp_path: Path) -> None:
    out = tmp_path / "docs"
    shutil.copytree(DOCS, out)
    released = out / _schema_file("civicgrid.analytics.hotspot_detected")
    schema = json.loads(released.read_text())
    schema["properties"]["zone"] = {"type": "string"}  # a field the code does not have
    released.write_text(json.dumps(schema))
    assert TOOL.main(["--out", str(out), "--check"]) == 2


@pytest.mark.parametrize("flow", FLOWS, ids=lambda f: f"{f.topic.name}/{f.event.event_type}")
def test_every_event_is_described_and_its_example_is_valid(flow: Flow) -> None:
    assert describe(flow), f"{flow.event.event_type}: no docstring and no flow description"
    example = example_of(flow)
    flow.event.model_validate(example)
    schema = json.loads(GENERATED[_schema_file(flow.event.event_type)])
    jsonschema.validate(example, schema)
    assert schema["description"]


def test_the_asyncapi_document_names_every_event_and_topic() -> None:
    doc = json.loads(GENERATED["asyncapi.json"])
    messages = doc["components"]["messages"].values()
    assert {m["name"] for m in messages} == {*EVENTS, "civicgrid.deadletter"}
    for message in messages:
        assert "ce_id" in message["headers"]["properties"]
        assert message["examples"][0]["payload"]
        assert message["bindings"]["kafka"]["key"]["description"]
        assert message["payload"]
    for event_type in EVENTS:
        assert event_type in doc["components"]["schemas"]
    for section in ("messages", "schemas"):  # AsyncAPI's rule for component keys
        assert all(re.fullmatch(r"[a-zA-Z0-9.\-_]+", k) for k in doc["components"][section])
    for ref in _refs(doc):
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[unquote(part)]
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == {f.topic.name for f in FLOWS} | {DEAD_LETTER.name}
    for flow in FLOWS:
        name = f"{flow.topic.name}.{flow.event.event_type}"
        action = doc["operations"][name]["action"]
        assert action == ("send" if flow.producer in PLATFORM_SERVICES else "receive"), name


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_the_dead_letter_example_is_a_real_event() -> None:
    UnitResponse.model_validate(DEAD_LETTER_EXAMPLE["payload"])
    jsonschema.validate(DEAD_LETTER_EXAMPLE["headers"], DEAD_LETTER_HEADERS)


class _Producer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send_and_wait(self, topic: str, **record: Any) -> None:
        self.sent.append({"topic": topic, **record})


async def test_the_documented_dead_letter_headers_are_those_written() -> None:
    producer = _Producer()
    record = ConsumerRecord(topic="civicgrid.unit-responses.v1", partition=4, offset=10452,
                            timestamp=0, timestamp_type=0, key=b"case", value=b"{}",
                            checksum=None, serialized_key_size=4, serialized_value_size=2,
                            headers=(("ce_type", b"civicgrid.unit.response"),
                                     ("dlq_reason", b"an earlier attempt")))
    await DeadLetterPublisher(producer, "dispatch").send(  # type: ignore[arg-type]
        record, "dispatch-responses", "handler: NotYourCase: unit_id: not this unit", 1)
    [sent] = producer.sent
    assert sent["topic"] == DEAD_LETTER.name
    assert (sent["key"], sent["value"]) == (b"case", b"{}")
    headers = {k: v.decode() for k, v in sent["headers"]}
    written = {k for k in headers if k.startswith("dlq_")}
    assert written == set(DEAD_LETTER_HEADERS["properties"]) == set(
        DEAD_LETTER_HEADERS["required"])
    assert headers["ce_type"] == "civicgrid.unit.response"
    assert [k for k, _ in sent["headers"]].count("dlq_reason") == 1
    jsonschema.validate(headers, DEAD_LETTER_HEADERS,
                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


# -- the document against the services' real wiring ---------------------------------------

@pytest.fixture(scope="module")
def runtimes() -> Iterator[dict[str, Any]]:
    from civicgrid_analytics.bootstrap import bootstrap as analytics
    from civicgrid_dispatch.bootstrap import bootstrap as dispatch
    from civicgrid_enforcement.bootstrap import bootstrap as enforcement
    from civicgrid_intake.bootstrap import bootstrap as intake

    built = {name: boot()[1] for name, boot in (
        ("intake", intake), ("dispatch", dispatch), ("enforcement", enforcement),
        ("analytics", analytics))}
    assert set(built) == set(PLATFORM_SERVICES)
    yield built


def _routed(runtime: Any) -> list[tuple[set[str], set[str]]]:
    """Per consumer of a service: the topics it reads and the event types it handles."""
    return [({t.name for t in spec.topics}, {m.event_type for m in spec.routes})
            for spec in runtime._consumers]  # the runtime keeps its declared consumers


def test_every_topic_a_service_creates_is_documented(runtimes: dict[str, Any]) -> None:
    documented = {f.topic.name for f in FLOWS} | {DEAD_LETTER.name}
    for service, runtime in runtimes.items():
        missing = {t.name for t in runtime.topics} - documented
        assert not missing, f"{service} creates topics the document leaves out: {missing}"


def test_every_consumer_is_documented_and_every_documented_consumer_exists(
        runtimes: dict[str, Any]) -> None:
    for service, runtime in runtimes.items():
        consumers = _routed(runtime)
        documented = {(f.topic.name, f.event.event_type) for f in FLOWS
                      if service in f.consumers}
        # A consumer handles an event type on whichever of its topics it comes.
        omitted = {(sorted(topics)[0], t) for topics, types in consumers for t in types
                   if not any((topic, t) in documented for topic in topics)}
        assert not omitted, f"{service} reads events the document omits: {omitted}"
        claimed = {(topic, t) for topic, t in documented
                   if not any(topic in topics and t in types for topics, types in consumers)}
        assert not claimed, f"the document says {service} reads these, it does not: {claimed}"


def test_services_publish_only_on_topics_they_can_reach(runtimes: dict[str, Any]) -> None:
    for flow in FLOWS:
        if flow.producer not in PLATFORM_SERVICES:
            continue
        runtime = runtimes[flow.producer]
        reachable = {t.name for t in runtime.topics}
        assert flow.topic.name in reachable or spec_for(flow.topic.name) is not None, (
            f"{flow.producer} has no topic {flow.topic.name}")


def test_raw_channel_records_are_documented_as_dead_lettered() -> None:
    doc = json.loads(GENERATED["asyncapi.json"])
    for channel in doc["channels"].values():
        if channel["address"].startswith("civicgrid.channel."):
            assert re.search(rf"goes to `{re.escape(DEAD_LETTER.name)}`",
                             channel["description"])


# -- the compatibility rules themselves ---------------------------------------------------

BASE = {
    "type": "object",
    "properties": {
        "case_id": {"type": "string", "format": "uuid"},
        "unit_id": {"type": "string"},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "state": {"$ref": "#/$defs/State"},
    },
    "required": ["case_id", "unit_id", "state"],
    "$defs": {"State": {"enum": ["open", "closed"], "type": "string"}},
}


def _changed(**edits: object) -> dict[str, object]:
    new = json.loads(json.dumps(BASE))
    for key, value in edits.items():
        if value is None:
            del new["properties"][key]
        else:
            new["properties"][key] = value
    return new


def test_adding_an_optional_field_is_compatible() -> None:
    assert breaking_changes(BASE, _changed(extra={"type": "integer"})) == []


@pytest.mark.parametrize(("new", "reason"), [
    (_changed(unit_id=None), "unit_id: removed"),
    (_changed(unit_id={"type": "integer"}), "unit_id: type changed"),
    (_changed(note={"type": "string"}), "note: type changed"),
])
def test_removing_or_retyping_a_field_is_breaking(new: dict[str, object], reason: str) -> None:
    assert reason in breaking_changes(BASE, new)


def test_required_becoming_optional_and_enum_shrinking_are_breaking() -> None:
    new = json.loads(json.dumps(BASE))
    new["required"] = ["case_id", "state"]
    new["$defs"]["State"]["enum"] = ["open"]
    problems = breaking_changes(BASE, new)
    assert "unit_id: no longer required" in problems
    assert any("enum values removed" in p for p in problems)
