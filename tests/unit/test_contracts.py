"""The committed contract documents match the code, and versions are never broken in place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from civicgrid_shared.contracts.compat import breaking_changes
from civicgrid_shared.contracts.docs import generated_files
from civicgrid_shared.contracts.events import EVENT_TYPES
from civicgrid_shared.contracts.flows import FLOWS

DOCS = Path(__file__).resolve().parents[2] / "docs"
GENERATED = generated_files()


@pytest.mark.parametrize("rel", sorted(GENERATED))
def test_committed_document_matches_the_code(rel: str) -> None:
    path = DOCS / rel
    assert path.exists(), f"docs/{rel} is missing: run `make contracts` and commit it"
    assert path.read_text() == GENERATED[rel], f"docs/{rel} is stale: run `make contracts`"


def test_no_event_type_was_renamed_or_removed() -> None:
    released = {p.name for p in (DOCS / "schemas").iterdir() if p.is_dir()}
    gone = released - set(EVENT_TYPES)
    assert not gone, f"event types gone from the code: {gone}"


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_released_version_is_still_readable(event_type: str) -> None:
    model = EVENT_TYPES[event_type]
    current = json.loads(GENERATED[f"schemas/{event_type}/v{model.schema_version}.json"])
    for released in (DOCS / "schemas" / event_type).glob("v*.json"):
        if released.name == f"v{model.schema_version}.json":
            assert breaking_changes(json.loads(released.read_text()), current) == []


def test_every_event_has_a_flow_and_the_asyncapi_document_names_it() -> None:
    documented = {f.event.event_type for f in FLOWS}
    assert documented == set(EVENT_TYPES)
    doc = json.loads(GENERATED["asyncapi.json"])
    names = {m["name"] for m in doc["components"]["messages"].values()}
    assert names == set(EVENT_TYPES)
    for message in doc["components"]["messages"].values():
        assert "ce_id" in message["headers"]["properties"]
        assert message["examples"][0]["payload"]


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
