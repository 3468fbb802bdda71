"""Helpers for dispatch's integration tests: appeals and responses straight onto the bus,
the case as stored, the workbench with dev keys."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from civicgrid_shared.contracts.envelope import EventPayload, new_event
from civicgrid_shared.contracts.events import (
    AppealReceived,
    CallbackAnswered,
    Channel,
    Satisfaction,
    TerritoryRef,
    UnitAction,
    UnitResponse,
)
from civicgrid_shared.contracts.topics import APPEALS, RESPONSES
from civicgrid_shared.reference.loader import load_territory
from civicgrid_stack.stack import Stack

from tests.integration.helpers import produce, url, wait_for

# An event handled in the community (事件先属地): it goes to the community committee.
COMMUNITY_MATTER = "CA-003"


def random_territory() -> TerritoryRef:
    grid = random.choice(load_territory().grids)
    return TerritoryRef(county_code=grid.county_code, township_code=grid.township_code,
                        community_code=grid.community_code, grid_code=grid.code)


def dev_key(unit_id: str) -> dict[str, str]:
    return {"X-Api-Key": f"dev-{unit_id}"}


async def publish(stack: Stack, payload: EventPayload, topic: str, key: str,
                  extra: dict[str, Any] | None = None) -> None:
    event = new_event(payload, topic=topic, key=key, source="/test")
    value = event.value
    if extra:
        import json

        value = json.dumps({**json.loads(value), **extra}).encode()
    await produce(stack, topic, key.encode(), value, event.headers)


async def publish_appeal(stack: Stack, matter_code: str | None = COMMUNITY_MATTER,
                         **fields: Any) -> AppealReceived:
    appeal = AppealReceived(
        appeal_id=uuid.uuid4(), tracking_code=uuid.uuid4().hex[:10].upper(),
        channel=Channel.HOTLINE, received_at=datetime.now(UTC),
        content=fields.pop("content", "小区道路好几天没人打扫，垃圾很多。"),
        matter_code=matter_code, territory=fields.pop("territory", random_territory()),
        contact_phone_masked="138****1234", **fields,
    )
    await publish(stack, appeal, APPEALS.name, str(appeal.appeal_id))
    return appeal


async def respond(stack: Stack, case_id: uuid.UUID, unit_id: str, action: UnitAction,
                  extra: dict[str, Any] | None = None, **fields: Any) -> UnitResponse:
    response = UnitResponse(response_id=uuid.uuid4(), case_id=case_id, unit_id=unit_id,
                            action=action, acted_at=datetime.now(UTC), **fields)
    await publish(stack, response, RESPONSES.name, str(case_id), extra)
    return response


async def answer_callback(stack: Stack, appeal_id: uuid.UUID, solved: bool,
                          satisfaction: Satisfaction) -> None:
    answer = CallbackAnswered(appeal_id=appeal_id, solved=solved, satisfaction=satisfaction,
                              answered_at=datetime.now(UTC))
    await publish(stack, answer, APPEALS.name, str(appeal_id))


class Cases:
    """The dispatch schema, read directly (tests only)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def by_appeal(self, appeal_id: uuid.UUID, state: str | None = None,
                        timeout: float = 30.0) -> asyncpg.Record:  # noqa: ASYNC109
        async def probe() -> asyncpg.Record | None:
            row = await self.conn.fetchrow(
                "SELECT * FROM dispatch.cases WHERE appeal_id = $1", appeal_id)
            return row if row is not None and (state is None or row["state"] == state) \
                else None
        return await wait_for(probe, timeout, f"the case of the appeal to be {state}")

    async def get(self, case_id: uuid.UUID) -> asyncpg.Record:
        row = await self.conn.fetchrow("SELECT * FROM dispatch.cases WHERE case_id = $1",
                                       case_id)
        assert row is not None
        return row

    async def in_state(self, case_id: uuid.UUID, state: str,
                       timeout: float = 30.0) -> asyncpg.Record:  # noqa: ASYNC109
        async def probe() -> asyncpg.Record | None:
            row = await self.get(case_id)
            return row if row["state"] == state else None
        return await wait_for(probe, timeout, f"the case to be {state}")

    async def path(self, case_id: uuid.UUID) -> list[str]:
        rows = await self.conn.fetch(
            "SELECT to_state FROM dispatch.case_transitions WHERE case_id = $1 ORDER BY seq",
            case_id)
        return [r["to_state"] for r in rows]


def workbench(stack: Stack, path: str) -> str:
    return url(stack, "dispatch", f"/v1/workbench{path}")


def platform(stack: Stack, path: str) -> str:
    return url(stack, "dispatch", f"/v1/platform{path}")


async def post(client: httpx.AsyncClient, address: str, unit_id: str,
               body: dict[str, Any] | None = None) -> httpx.Response:
    return await client.post(address, json=body or {}, headers=dev_key(unit_id))
