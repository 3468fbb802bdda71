"""Intake's channel endpoints, keys, limits, triage, duplicates, status and call-backs,
on the real broker and PostgreSQL (with a second intake instance holding dev keys)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from civicgrid_shared.contracts.envelope import decode
from civicgrid_shared.contracts.events import AppealReceived, CallbackAnswered, CaseClosed
from civicgrid_shared.contracts.topics import APPEALS, CASES

from tests.integration.helpers import read_topic, wait_for
from tests.integration.intake_helpers import (
    GRID_APP_KEY,
    HOTLINE_KEY,
    OPERATOR_KEY,
    SLOW_KEY,
    WEB_BOARD_KEY,
    KeyedIntake,
    grid_with_point,
    hotline_body,
    intake_db,
    keyed_intake,
    publish,
)

pytestmark = pytest.mark.integration
__all__ = ["intake_db", "keyed_intake"]  # fixtures used by name below

PHONE_DIGITS = "13812341234"


def _appeal_record(appeal_id: str) -> Any:
    def match(record: Any) -> bool:
        return bool(record.key == appeal_id.encode()
                    and dict(record.headers).get("ce_type") == b"civicgrid.appeal.received")
    return match


async def _received_event(k: KeyedIntake, appeal_id: str) -> AppealReceived:
    record = await read_topic(k.stack, APPEALS.name, _appeal_record(appeal_id))
    return decode(record.headers, record.key, record.value).payload(AppealReceived)


async def test_hotline_call_is_accepted_once_and_keys_are_checked(
    keyed_intake: KeyedIntake, intake_db: asyncpg.Connection,
) -> None:
    body = hotline_body()
    path = keyed_intake.url("/v1/channels/hotline/calls")
    async with httpx.AsyncClient(timeout=10) as client:
        first = await client.post(path, json=body, headers=HOTLINE_KEY)
        again = await client.post(path, json=body, headers=HOTLINE_KEY)
        wrong_channel = await client.post(path, json=body, headers=WEB_BOARD_KEY)
        no_key = await client.post(path, json=body)
        bad_key = await client.post(path, json=body, headers={"X-Api-Key": "nope"})
    assert first.status_code == 201, first.text
    assert again.status_code == 200 and again.json()["appeal_id"] == first.json()["appeal_id"]
    assert wrong_channel.status_code == 403
    assert no_key.status_code == 401 and bad_key.status_code == 401
    accepted = first.json()
    assert accepted["matter_code"] == "RD-003"
    assert accepted["contact_phone_masked"] == "138****1234"
    stored = await intake_db.fetchval(
        "SELECT count(*) FROM appeals WHERE channel = 'hotline' AND external_id = $1",
        body["ticket_number"])
    assert stored == 1
    event = await _received_event(keyed_intake, accepted["appeal_id"])
    assert event.external_id == body["ticket_number"]
    assert event.matter_code == "RD-003"
    assert PHONE_DIGITS not in event.model_dump_json()


async def test_grid_app_report_resolved_on_the_spot(keyed_intake: KeyedIntake) -> None:
    grid, lat, lon = grid_with_point()
    body = {
        "report_id": f"GA-{uuid.uuid4().hex[:12]}", "grid_code": grid,
        "grid_worker_id": "gw-0001", "latitude": lat, "longitude": lon,
        "description": "巡查发现单元楼道里堆放了大量纸箱杂物，已现场劝导住户清理完毕。",
        "media": ["https://media.example.org/p/1.jpg", "img-20261122-0001"],
        "resolved_on_spot": True, "resolution_note": "现场劝导，住户已清理杂物。",
        "matter_code": "CA-008",
    }
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.post(keyed_intake.url("/v1/channels/grid-app/reports"), json=body,
                              headers=GRID_APP_KEY)
        missing_note = await client.post(
            keyed_intake.url("/v1/channels/grid-app/reports"),
            json={**body, "report_id": "GA-x1", "resolution_note": None}, headers=GRID_APP_KEY)
    assert r.status_code == 201, r.text
    assert missing_note.status_code == 422
    assert "resolution_note" in missing_note.text
    event = await _received_event(keyed_intake, r.json()["appeal_id"])
    assert event.resolved_on_spot is True
    assert event.resolution_note == "现场劝导，住户已清理杂物。"
    assert event.grid_worker_id == "gw-0001"
    assert event.territory.grid_code == grid


async def test_web_board_message_and_limits(keyed_intake: KeyedIntake) -> None:
    grid, _, _ = grid_with_point()
    body = {"board_id": "leaders-board", "message_id": uuid.uuid4().hex[:20],
            "title": "关于夜间施工噪音的投诉",
            "body": "我家旁边的工地每天晚上十一点以后还在施工，噪音非常大，严重影响休息。",
            "contact": "13912345678", "grid_code": grid}
    path = keyed_intake.url("/v1/channels/web-boards/messages")
    async with httpx.AsyncClient(timeout=10) as client:
        ok = await client.post(path, json=body, headers=WEB_BOARD_KEY)
        huge = await client.post(path, headers=WEB_BOARD_KEY,
                                 json={**body, "body": "噪" * 40_000})
        statuses = [
            (await client.post(keyed_intake.url("/v1/channels/hotline/calls"),
                               json=hotline_body(), headers=SLOW_KEY))
            for _ in range(3)
        ]
    assert ok.status_code == 201, ok.text
    assert ok.json()["matter_code"] == "EV-001"
    assert huge.status_code == 413
    assert [s.status_code for s in statuses[:2]] == [201, 201]
    assert statuses[2].status_code == 429
    assert int(statuses[2].headers["Retry-After"]) >= 1


async def test_unsure_appeal_waits_in_triage_until_classified(
    keyed_intake: KeyedIntake, intake_db: asyncpg.Connection,
) -> None:
    body = hotline_body(summary=None, transcript="你好，我想反映一个事情，具体情况我也说不太清楚。")
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.post(keyed_intake.url("/v1/channels/hotline/calls"), json=body,
                              headers=HOTLINE_KEY)
        assert r.status_code == 201, r.text
        accepted = r.json()
        assert accepted["status"] == "triage" and accepted["matter_code"] is None
        queue = await client.get(keyed_intake.url("/v1/triage"), headers=OPERATOR_KEY)
        forbidden = await client.get(keyed_intake.url("/v1/triage"), headers=HOTLINE_KEY)
        assert queue.status_code == 200 and forbidden.status_code == 403
        assert accepted["appeal_id"] in [i["appeal_id"] for i in queue.json()]
        outbox = await intake_db.fetchval(
            "SELECT count(*) FROM outbox WHERE key = $1", accepted["appeal_id"])
        assert outbox == 0  # nothing published while in triage
        done = await client.post(
            keyed_intake.url(f"/v1/triage/{accepted['appeal_id']}/classify"),
            json={"matter_code": "CS-002"}, headers=OPERATOR_KEY)
        twice = await client.post(
            keyed_intake.url(f"/v1/triage/{accepted['appeal_id']}/classify"),
            json={"matter_code": "CS-002"}, headers=OPERATOR_KEY)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "received" and done.json()["matter_code"] == "CS-002"
    assert twice.status_code == 409
    event = await _received_event(keyed_intake, accepted["appeal_id"])
    assert event.matter_code == "CS-002" and event.matter_confidence == 1.0


async def _wait_registered(client: httpx.AsyncClient, k: KeyedIntake,
                           tracking_code: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        r = await client.get(k.url(f"/v1/appeals/{tracking_code}"))
        body: dict[str, Any] = r.json()
        kinds = {n["kind"] for n in body.get("progress", [])}
        return body if {"registered", "assigned"} <= kinds else None
    return await wait_for(probe, what="intake to learn the case from dispatch")


async def test_duplicates_status_and_callback(
    keyed_intake: KeyedIntake, intake_db: asyncpg.Connection,
) -> None:
    _grid, lat, lon = grid_with_point()
    first_body = hotline_body(latitude=lat, longitude=lon, agent_matter_code="RD-002",
                              caller_phone="13911112222",
                              transcript="路口的井盖丢了，只剩一个黑洞，很危险。")
    path = keyed_intake.url("/v1/channels/hotline/calls")
    async with httpx.AsyncClient(timeout=10) as client:
        first = await client.post(path, json=first_body, headers=HOTLINE_KEY)
        assert first.status_code == 201, first.text
        tracking = first.json()["tracking_code"]
        status = await _wait_registered(client, keyed_intake, tracking)
        assert status["status"] in ("assigned", "signed_for")
        assert any(n["kind"] == "assigned" and "已派遣至" in n["note"]
                   for n in status["progress"])
        assert PHONE_DIGITS not in json.dumps(status) and "13911112222" not in json.dumps(status)
        case_id = await intake_db.fetchval(
            "SELECT case_id FROM appeals WHERE appeal_id = $1",
            uuid.UUID(first.json()["appeal_id"]))
        assert case_id is not None

        # ~50 m north (RD-002's radius is 100 m), another caller: a duplicate.
        near = await client.post(path, headers=HOTLINE_KEY, json=hotline_body(
            latitude=lat + 0.00045, longitude=lon, agent_matter_code="RD-002",
            caller_phone="13700001111", transcript="这里有个井盖没有了，晚上看不见。"))
        # Far away, same citizen, same matter: a duplicate by phone.
        _other_grid, olat, olon = grid_with_point()
        same_citizen = await client.post(path, headers=HOTLINE_KEY, json=hotline_body(
            latitude=olat, longitude=olon, agent_matter_code="RD-002",
            caller_phone="139-1111-2222", transcript="我上次反映的井盖问题还没处理。"))
        # Same place, another matter: not a duplicate.
        other_matter = await client.post(path, headers=HOTLINE_KEY, json=hotline_body(
            latitude=lat, longitude=lon, agent_matter_code="RD-003", caller_phone=None))
        for r in (near, same_citizen, other_matter):
            assert r.status_code == 201, r.text
        assert near.json()["duplicate_of_case_id"] == str(case_id)
        assert same_citizen.json()["duplicate_of_case_id"] == str(case_id)
        assert other_matter.json()["duplicate_of_case_id"] is None
        event = await _received_event(keyed_intake, near.json()["appeal_id"])
        assert event.duplicate_of_case_id == case_id

        # Call-back by the hotline agent: CallbackAnswered with the case id.
        cb = await client.post(keyed_intake.url("/v1/callbacks"), headers=HOTLINE_KEY, json={
            "tracking_code": tracking, "solved": True, "satisfaction": "satisfied",
            "comment": "已经修好了"})
        not_agent = await client.post(keyed_intake.url("/v1/callbacks"), headers=GRID_APP_KEY,
                                      json={"tracking_code": tracking, "solved": True,
                                            "satisfaction": "satisfied"})
        assert cb.status_code == 201, cb.text
        assert not_agent.status_code == 403
        answer_record = await read_topic(
            keyed_intake.stack, APPEALS.name,
            lambda r: r.key == first.json()["appeal_id"].encode() and dict(r.headers).get(
                "ce_type") == b"civicgrid.appeal.callback_answered")
        answer = decode(answer_record.headers, answer_record.key, answer_record.value
                        ).payload(CallbackAnswered)
        assert answer.case_id == case_id and answer.solved is True

        # The case closes (as dispatch would say): no longer a duplicate target.
        await publish(keyed_intake.stack, CASES.name, CaseClosed(
            case_id=case_id, appeal_id=uuid.UUID(first.json()["appeal_id"]), unit_id=None,
            on_time=True, closed_at=datetime.now(UTC)), key=str(case_id))

        async def closed() -> bool | None:
            r = await client.get(keyed_intake.url(f"/v1/appeals/{tracking}"))
            return True if r.json()["status"] == "closed" else None

        await wait_for(closed, what="the closed case to reach intake")
        after = await client.post(path, headers=HOTLINE_KEY, json=hotline_body(
            latitude=lat, longitude=lon, agent_matter_code="RD-002", caller_phone=None))
        assert after.status_code == 201
        assert after.json()["duplicate_of_case_id"] != str(case_id)
