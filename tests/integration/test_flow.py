"""The skeleton flow on the real broker and PostgreSQL: intake → dispatch → analytics."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from civicgrid_shared.contracts.envelope import new_event
from civicgrid_shared.contracts.events import AppealReceived, Channel
from civicgrid_shared.contracts.topics import APPEALS, DEAD_LETTER
from civicgrid_stack.stack import Stack

from tests.integration.helpers import (
    appeal_body,
    indicators,
    metric,
    produce,
    random_grid_code,
    read_topic,
    url,
    wait_for,
)

pytestmark = pytest.mark.integration


async def test_appeal_is_registered_assigned_and_counted(stack: Stack) -> None:
    grid = random_grid_code()
    async with httpx.AsyncClient(timeout=10) as client:
        before = (await indicators(client, stack, grid_code=grid))["total"]
        r = await client.post(url(stack, "intake", "/v1/appeals"), json=appeal_body(grid))
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["contact_phone_masked"].count("*") == 4
        assert body["territory"]["grid_code"] == grid
        assert r.headers["Location"] == f"/v1/appeals/{body['tracking_code']}"

        async def counted() -> dict[str, Any] | None:
            total = (await indicators(client, stack, grid_code=grid))["total"]
            done = total["assigned"] == before["assigned"] + 1
            return total if done else None

        total = await wait_for(counted, what="the appeal to be assigned in analytics")
        assert total["received"] == before["received"] + 1
        assert total["registered"] == before["registered"] + 1
        assert total["accepted"] == total["registered"]

        status = await client.get(url(stack, "intake", f"/v1/appeals/{body['tracking_code']}"))
        assert status.status_code == 200
        assert "contact_phone" not in status.text


async def test_retried_submission_returns_the_original(stack: Stack) -> None:
    body = appeal_body(random_grid_code())
    async with httpx.AsyncClient(timeout=10) as client:
        first = await client.post(url(stack, "intake", "/v1/appeals"), json=body)
        second = await client.post(url(stack, "intake", "/v1/appeals"), json=body)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["appeal_id"] == second.json()["appeal_id"]
    assert second.json()["duplicate_submission"] is True


@pytest.mark.parametrize(("change", "field"), [
    ({"channel": "carrier-pigeon"}, "body.channel"),
    ({"content": ""}, "body.content"),
    ({"grid_code": "12345"}, "body.grid_code"),
    ({"latitude": 123.0, "longitude": 1.0, "grid_code": None}, "body.latitude"),
    ({"unexpected": 1}, "body.unexpected"),
])
async def test_malformed_appeal_gets_422_naming_the_field(
    stack: Stack, change: dict[str, Any], field: str
) -> None:
    body = appeal_body(random_grid_code(), **change)
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.post(url(stack, "intake", "/v1/appeals"), json=body)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]], r.text


async def test_invalid_phone_and_unknown_grid_are_422_without_echo(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        bad_phone = await client.post(url(stack, "intake", "/v1/appeals"), json=appeal_body(
            random_grid_code(), contact_phone="1999"))
        unknown_grid = await client.post(url(stack, "intake", "/v1/appeals"), json=appeal_body(
            "99999999999999999999"))
        not_json = await client.post(url(stack, "intake", "/v1/appeals"), content=b"\xff{",
                                     headers={"content-type": "application/json"})
    assert bad_phone.status_code == 422 and "1999" not in bad_phone.text
    assert bad_phone.json()["errors"] == [
        {"field": "body.contact_phone", "reason": "not a valid phone number"}]
    assert unknown_grid.status_code == 422
    assert unknown_grid.json()["errors"] == [
        {"field": "body.grid_code", "reason": "not a grid of this city"}]
    assert not_json.status_code == 422


async def test_a_point_outside_the_city_is_422_naming_the_field(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.post(url(stack, "intake", "/v1/appeals"), json=appeal_body(
            random_grid_code(), grid_code=None, latitude=10.0, longitude=10.0))
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["field"] == "body.latitude" and "outside this city" in error["reason"]


async def test_redelivered_event_is_not_processed_twice(stack: Stack) -> None:
    grid = random_grid_code()
    payload = AppealReceived(
        appeal_id=uuid.uuid4(), tracking_code="REDELIVER1", channel=Channel.HOTLINE,
        received_at=datetime.now(UTC), content="重复投递测试",
        territory=(await _territory(grid)),
    )
    event = new_event(payload, topic=APPEALS.name, key=str(payload.appeal_id), source="/test")
    async with httpx.AsyncClient(timeout=10) as client:
        dup_before = await metric(client, stack, "analytics",
                                  "civicgrid_events_duplicate_total", {"consumer": "analytics"})
        for _ in range(3):
            await produce(stack, APPEALS.name, event.key.encode(), event.value, event.headers)

        async def duplicates_seen() -> float | None:
            now = await metric(client, stack, "analytics", "civicgrid_events_duplicate_total",
                               {"consumer": "analytics"})
            return now if now >= dup_before + 2 else None

        await wait_for(duplicates_seen, what="analytics to skip two redeliveries")
        total = (await indicators(client, stack, grid_code=grid))["total"]
    conn = await asyncpg.connect(stack.postgres.dsn())
    try:
        cases = await conn.fetchval(
            "SELECT count(*) FROM dispatch.cases WHERE appeal_id = $1", payload.appeal_id)
        claims = await conn.fetchval(
            "SELECT count(*) FROM dispatch.inbox WHERE event_id = $1", event.event_id)
    finally:
        await conn.close()
    assert cases == 1
    assert claims == 1
    assert total["received"] >= 1


async def test_poison_message_goes_to_dead_letters_and_partition_keeps_moving(
    stack: Stack,
) -> None:
    grid = random_grid_code()
    key = str(uuid.uuid4()).encode()  # same key: same partition as the good record after it
    marker = uuid.uuid4().hex.encode()
    await produce(stack, APPEALS.name, key, b"not an event " + marker,
                  [("ce_id", b"\xff\xfe"), ("content-type", b"application/json")])
    payload = AppealReceived(
        appeal_id=uuid.uuid4(), tracking_code="POISONNEXT", channel=Channel.WEB_BOARD,
        received_at=datetime.now(UTC), content="毒消息之后的正常消息",
        territory=(await _territory(grid)),
    )
    good = new_event(payload, topic=APPEALS.name, key=key.decode(), source="/test")
    await produce(stack, APPEALS.name, key, good.value, good.headers)

    dead = await read_topic(stack, DEAD_LETTER.name, lambda r: marker in (r.value or b""))
    headers = dict(dead.headers)
    assert headers["dlq_reason"].startswith(b"envelope:")
    assert headers["dlq_original_topic"] == APPEALS.name.encode()
    assert dead.key == key

    async with httpx.AsyncClient(timeout=10) as client:
        async def counted() -> bool | None:
            total = (await indicators(client, stack, grid_code=grid))["total"]
            return True if total["registered"] >= 1 else None

        await wait_for(counted, what="the record after the poison one to be processed")


async def test_every_service_is_ready_and_exposes_metrics(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        for service in ("intake", "dispatch", "enforcement", "analytics"):
            ready = await client.get(url(stack, service, "/ready"))
            assert ready.status_code == 200, ready.text
            assert (await client.get(url(stack, service, "/health"))).json()["status"] == "ok"
            text = (await client.get(url(stack, service, "/metrics"))).text
            assert "civicgrid_outbox_published_total" in text
        analytics = (await client.get(url(stack, "analytics", "/metrics"))).text
        assert "civicgrid_faststream_received_messages_total" in analytics
        assert 'civicgrid_consumer_lag_records{consumer="analytics",topic="civicgrid.cases.v1"}' \
            in analytics
        assert "civicgrid_outbox_backlog{" in analytics


async def _territory(grid_code: str) -> Any:
    from civicgrid_intake.adapters.reference import ReferenceLocator

    ref = ReferenceLocator().by_grid_code(grid_code)
    assert ref is not None
    return ref
