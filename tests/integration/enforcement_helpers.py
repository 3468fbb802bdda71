"""Helpers for enforcement's integration tests: teams, keys, hand-overs."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from civicgrid_shared.contracts.envelope import decode, new_event
from civicgrid_shared.contracts.events import CaseHandedOver, TerritoryRef
from civicgrid_shared.contracts.topics import ENFORCEMENT
from civicgrid_shared.reference.loader import load_territory
from civicgrid_stack.stack import Stack

from tests.integration.helpers import produce, url

# The test stack runs with CIVICGRID_ENV=local, where every unit has the dev key
# "dev-<unit id>" (CIVICGRID_DEV_UNIT_KEYS unset).
BASE = "/v1/enforcement"


@dataclass(frozen=True)
class Place:
    grid_code: str
    territory: TerritoryRef
    team_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Api-Key": f"dev-{self.team_id}"}

    def department_headers(self, kind: str) -> dict[str, str]:
        county = self.territory.county_code
        return {"X-Api-Key": f"dev-county-{county}-{kind.replace('_', '-')}"}


def random_place() -> Place:
    return place_of(random.choice(load_territory().grids).code)


def place_of(grid_code: str) -> Place:
    [grid] = [g for g in load_territory().grids if g.code == grid_code]
    territory = TerritoryRef(county_code=grid.county_code, township_code=grid.township_code,
                             community_code=grid.community_code, grid_code=grid.code)
    return Place(grid.code, territory, f"township-{grid.township_code}-enforcement")


def evidence(place: Place, n: int = 1) -> dict[str, Any]:
    return {"uri": f"evidence://bodycam/{uuid.uuid4()}.mp4",
            "sha256": f"{n:064x}", "media_kind": "video", "recorder_id": "ZF-0001",
            "recorded_at": datetime.now(UTC).isoformat(), "grid_code": place.grid_code}


PARTY = {"party_type": "individual", "name": "王小明", "id_number": "140502199001011234",
         "phone": "13912345678", "address": "春峰街道幸福路8号"}


async def hand_over(stack: Stack, place: Place, matter_code: str = "EF-001"
                    ) -> uuid.UUID:
    """Publish dispatch's CaseHandedOver on the enforcement topic; the dispatch case id."""
    dispatch_case_id = uuid.uuid4()
    payload = CaseHandedOver(
        case_id=dispatch_case_id, appeal_id=uuid.uuid4(), to="enforcement",
        unit_id=f"township-{place.territory.township_code}-office", matter_code=matter_code,
        territory=place.territory, content="门口有人占道摆摊卖水果，影响通行。",
        handed_at=datetime.now(UTC))
    event = new_event(payload, topic=ENFORCEMENT.name, key=str(dispatch_case_id),
                      source="/civicgrid/dispatch")
    await produce(stack, ENFORCEMENT.name, event.key.encode(), event.value, event.headers)
    return dispatch_case_id


async def find_lead(client: httpx.AsyncClient, stack: Stack, place: Place,
                    dispatch_case_id: uuid.UUID) -> dict[str, Any] | None:
    """The team's lead opened for a dispatch case, or None (yet)."""
    r = await client.get(url(stack, "enforcement", f"{BASE}/cases"), params={"state": "lead"},
                         headers=place.headers)
    assert r.status_code == 200, r.text
    for case in r.json()["cases"]:
        if case["dispatch_case_id"] == str(dispatch_case_id):
            return case  # type: ignore[no-any-return]
    return None


async def patrol_lead(client: httpx.AsyncClient, stack: Stack, place: Place,
                      **extra: Any) -> str:
    body = {"officer_id": "ZF-0001", "grid_code": place.grid_code,
            "description": "巡查发现店外经营", "violation_code": "SV-002",
            "evidence": [evidence(place)], **extra}
    r = await client.post(url(stack, "enforcement", f"{BASE}/leads"), json=body,
                          headers=place.headers)
    assert r.status_code == 201, r.text
    case_id: str = r.json()["case_id"]
    return case_id


async def post(client: httpx.AsyncClient, stack: Stack, place: Place, path: str,
               body: dict[str, Any], expect: int = 200) -> dict[str, Any]:
    r = await client.post(url(stack, "enforcement", f"{BASE}{path}"), json=body,
                          headers=place.headers)
    assert r.status_code == expect, r.text
    return r.json()  # type: ignore[no-any-return]


def event_type(record: Any) -> str:
    value: bytes = dict(record.headers).get("ce_type", b"")
    return value.decode()


def decoded(record: Any) -> Any:
    return decode(record.headers, record.key, record.value, record.topic)


async def unlabelled_metric(client: httpx.AsyncClient, stack: Stack, name: str) -> float:
    """A sample without labels (helpers.metric reads labelled samples only)."""
    text = (await client.get(url(stack, "enforcement", "/metrics"))).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def records_with_keys(stack: Stack, topic: str, keys: set[str]) -> list[Any]:
    """Every record of ``topic`` whose key is in ``keys``, from the start to the end
    offsets as they are now (unlike helpers.read_topic, which stops at the first match)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.broker.bootstrap,
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        assert topic in await consumer.topics()  # also fetches the partitions
        partitions = [TopicPartition(topic, p)
                      for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        wanted = {k.encode() for k in keys}
        found: list[Any] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batches = await consumer.getmany(*partitions, timeout_ms=500)
            for records in batches.values():
                found += [r for r in records if r.key in wanted]
        return found
    finally:
        await consumer.stop()
