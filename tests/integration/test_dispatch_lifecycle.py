"""Dispatch's case life cycle on the real broker and PostgreSQL: unit responses on the
responses topic, the workbench and platform HTTP API, call-back and closing, dead
letters for bad responses, and timers that survive a restart."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from civicgrid_shared.contracts.events import Satisfaction, UnitAction
from civicgrid_shared.contracts.topics import CASES, DEAD_LETTER, task_topic
from civicgrid_stack.stack import Stack

from tests.integration.dispatch_helpers import (
    Cases,
    answer_callback,
    dev_key,
    platform,
    post,
    publish_appeal,
    respond,
    workbench,
)
from tests.integration.helpers import read_topic

pytestmark = pytest.mark.integration


@pytest.fixture
async def cases(stack: Stack) -> AsyncIterator[Cases]:
    conn = await asyncpg.connect(stack.postgres.dsn())
    try:
        yield Cases(conn)
    finally:
        await conn.close()


def _is(case_id: uuid.UUID, event_type: str) -> Any:
    def match(record: Any) -> bool:
        headers = dict(record.headers)
        return record.key == str(case_id).encode() and \
            headers.get("ce_type") == f"civicgrid.case.{event_type}".encode()
    return match


async def _event(stack: Stack, case_id: uuid.UUID, event_type: str,
                 topic: str = CASES.name) -> dict[str, Any]:
    record = await read_topic(stack, topic, _is(case_id, event_type))
    return json.loads(record.value)  # type: ignore[no-any-return]


async def test_appeal_to_closed_through_responses_workbench_and_callback(
        stack: Stack, cases: Cases) -> None:
    appeal = await publish_appeal(stack)
    case = await cases.by_appeal(appeal.appeal_id, "assigned")
    case_id, unit = case["case_id"], case["unit_id"]
    assert unit.startswith("community-") and case["tier"] == "community"
    assigned = await _event(stack, case_id, "assigned", task_topic(unit).name)
    assert assigned["unit_id"] == unit and assigned["contact_phone_masked"] == "138****1234"

    await respond(stack, case_id, unit, UnitAction.SIGN_FOR)
    await cases.in_state(case_id, "signed_for")
    signed = await _event(stack, case_id, "signed_for")
    assert signed["on_time"] is True

    async with httpx.AsyncClient(timeout=10) as client:
        tasks = await client.get(workbench(stack, "/tasks"), headers=dev_key(unit))
        assert tasks.status_code == 200, tasks.text
        assert str(case_id) in [t["case_id"] for t in tasks.json()["items"]]
        r = await post(client, workbench(stack, f"/tasks/{case_id}/resolve"), unit,
                       {"result": "已安排保洁员清扫完毕"})
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "resolved" and r.json()["callback_due"] is not None
        detail = await client.get(workbench(stack, f"/tasks/{case_id}"),
                                  headers=dev_key(unit))
        assert [d["kind"] for d in detail.json()["deadlines"]] == ["callback"]

    requested = await _event(stack, case_id, "callback_requested")
    assert requested["contact_phone_masked"] == "138****1234"
    await answer_callback(stack, appeal.appeal_id, True, Satisfaction.SATISFIED)
    closed_row = await cases.in_state(case_id, "closed")
    closed = await _event(stack, case_id, "closed")
    assert closed["on_time"] is True and closed_row["satisfaction"] == "satisfied"
    assert await cases.path(case_id) == [
        "registered", "assigned", "signed_for", "resolved", "called_back", "closed"]
    # The unit's task topic follows its case to the end.
    await _event(stack, case_id, "closed", task_topic(unit).name)


async def test_not_satisfied_reopens_to_the_same_unit(stack: Stack, cases: Cases) -> None:
    appeal = await publish_appeal(stack)
    case = await cases.by_appeal(appeal.appeal_id, "assigned")
    case_id, unit = case["case_id"], case["unit_id"]
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await post(client, workbench(stack, f"/tasks/{case_id}/sign-for"),
                           unit)).status_code == 200
        assert (await post(client, workbench(stack, f"/tasks/{case_id}/resolve"), unit,
                           {"result": "已处理"})).status_code == 200
    await answer_callback(stack, appeal.appeal_id, False, Satisfaction.NOT_SATISFIED)
    row = await cases.in_state(case_id, "assigned")
    assert row["unit_id"] == unit and row["reopen_count"] == 1
    reopened = await _event(stack, case_id, "reopened", task_topic(unit).name)
    assert reopened["reopen_count"] == 1 and reopened["reason"] == "not solved"
    assert (await cases.path(case_id))[-3:] == ["called_back", "reopened", "assigned"]


async def test_workbench_refuses_other_units_unknown_keys_and_illegal_moves(
        stack: Stack, cases: Cases) -> None:
    appeal = await publish_appeal(stack)
    case = await cases.by_appeal(appeal.appeal_id, "assigned")
    case_id, unit = case["case_id"], case["unit_id"]
    other = "city-tax"
    async with httpx.AsyncClient(timeout=10) as client:
        no_key = await client.get(workbench(stack, "/tasks"))
        bad_key = await client.get(workbench(stack, "/tasks"), headers={"X-Api-Key": "nope"})
        not_mine = await post(client, workbench(stack, f"/tasks/{case_id}/sign-for"), other)
        not_mine_view = await client.get(workbench(stack, f"/tasks/{case_id}"),
                                         headers=dev_key(other))
        unknown = await post(client, workbench(stack, f"/tasks/{uuid.uuid4()}/sign-for"), unit)
        too_early = await post(client, workbench(stack, f"/tasks/{case_id}/resolve"), unit,
                               {"result": "done"})
        no_reason = await post(client, workbench(stack, f"/tasks/{case_id}/return"), unit,
                               {"reason": ""})
        blank_reason = await post(client, workbench(stack, f"/tasks/{case_id}/return"), unit,
                                  {"reason": "   "})
        platform_only = await client.get(platform(stack, "/queue"), headers=dev_key(unit))
    assert no_key.status_code == 401 and bad_key.status_code == 401
    assert not_mine.status_code == 403, not_mine.text
    assert not_mine_view.status_code == 403
    assert unknown.status_code == 404
    assert too_early.status_code == 409, too_early.text
    assert "assigned" in too_early.json()["errors"][0]["reason"]
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "body.reason"
    assert blank_reason.status_code == 422, blank_reason.text
    assert blank_reason.json()["errors"] == [
        {"field": "body.reason", "reason": "required for return"}]
    assert platform_only.status_code == 403
    after = await cases.get(case_id)
    assert after["state"] == "assigned" and after["signed_at"] is None
    assert await cases.path(case_id) == ["registered", "assigned"]


async def test_bad_responses_are_dead_lettered_and_leave_the_case_unchanged(
        stack: Stack, cases: Cases) -> None:
    appeal = await publish_appeal(stack)
    case = await cases.by_appeal(appeal.appeal_id, "assigned")
    case_id = case["case_id"]
    stranger = await respond(stack, case_id, "city-tax", UnitAction.SIGN_FOR)
    unknown_case = uuid.uuid4()
    await respond(stack, unknown_case, case["unit_id"], UnitAction.SIGN_FOR)

    def dead(key: uuid.UUID) -> Any:
        return lambda r: r.key == str(key).encode() and dict(r.headers).get(
            "dlq_consumer") == b"dispatch-responses"

    wrong_unit = await read_topic(stack, DEAD_LETTER.name, dead(case_id), timeout=60)
    no_case = await read_topic(stack, DEAD_LETTER.name, dead(unknown_case), timeout=60)
    assert b"NotYourCase" in dict(wrong_unit.headers)["dlq_reason"]
    assert str(stranger.response_id).encode() in wrong_unit.value
    assert b"UnknownCase" in dict(no_case.headers)["dlq_reason"]
    after = await cases.get(case_id)
    assert after["state"] == "assigned" and after["signed_at"] is None


async def test_return_redispatches_and_platform_decides_extensions(
        stack: Stack, cases: Cases) -> None:
    appeal = await publish_appeal(stack)
    case = await cases.by_appeal(appeal.appeal_id, "assigned")
    case_id, first = case["case_id"], case["unit_id"]
    async with httpx.AsyncClient(timeout=10) as client:
        r = await post(client, workbench(stack, f"/tasks/{case_id}/return"), first,
                       {"reason": "不属于本社区管辖"})
        assert r.status_code == 200, r.text
        second = (await cases.get(case_id))["unit_id"]
        assert second != first and second.startswith("county-")
        for step, body in (("sign-for", None), ("start", None),
                           ("extension", {"requested_due": (datetime.now(UTC) + timedelta(
                               days=30)).isoformat(), "reason": "需要协调施工单位"})):
            r = await post(client, workbench(stack, f"/tasks/{case_id}/{step}"), second, body)
            assert r.status_code == 200, r.text
        queue = await client.get(platform(stack, "/queue"), headers=dev_key("city-platform"),
                                 params={"limit": 200})
        assert str(case_id) in [c["case_id"] for c in queue.json()["items"]]
        decided = await post(client, platform(stack, f"/cases/{case_id}/extension-decision"),
                             "city-platform", {"granted": True, "reason": "同意"})
        assert decided.status_code == 200, decided.text
        again = await post(client, platform(stack, f"/cases/{case_id}/extension-decision"),
                           "city-platform", {"granted": True})
        assert again.status_code == 409
    row = await cases.get(case_id)
    assert row["state"] == "in_progress" and row["return_count"] == 1
    ext = await _event(stack, case_id, "extension_decided", task_topic(second).name)
    assert ext["granted"] is True
    assert datetime.fromisoformat(ext["resolve_due"]) == row["resolve_due"]
    returned = await _event(stack, case_id, "returned")
    assert returned["unit_id"] == first and returned["return_count"] == 1


async def test_a_due_timer_fires_after_a_restart(stack: Stack, cases: Cases) -> None:
    """A deadline that came due while dispatch was down is handled when it is back."""
    appeal = await publish_appeal(stack)
    case = await cases.by_appeal(appeal.appeal_id, "assigned")
    case_id = case["case_id"]
    dispatch = stack.services["dispatch"]
    dispatch.stop()
    try:
        past = datetime.now(UTC) - timedelta(minutes=5)
        moved = await cases.conn.execute(
            "UPDATE dispatch.deadlines SET due_at = $2, warn_at = NULL, next_at = $2 "
            "WHERE case_id = $1 AND kind = 'sign_for' AND next_at IS NOT NULL", case_id, past)
        assert moved == "UPDATE 1"
    finally:
        dispatch.start()
        dispatch.wait_ready(timeout=90)
    overdue = await _event(stack, case_id, "overdue")
    assert overdue["deadline"] == "sign_for" and overdue["unit_id"] == case["unit_id"]
    supervised = await _event(stack, case_id, "supervised", task_topic(case["unit_id"]).name)
    assert supervised["level"] == 1
    row = await cases.in_state(case_id, "supervised")
    assert row["supervision_level"] == 1
    stage = await cases.conn.fetchval(
        "SELECT stage FROM dispatch.deadlines WHERE case_id = $1 AND kind = 'sign_for' "
        "ORDER BY deadline_id DESC LIMIT 1", case_id)
    assert stage == "overdue"


async def test_still_overdue_under_supervision_escalates_to_the_parent(
        stack: Stack, cases: Cases) -> None:
    appeal = await publish_appeal(stack)
    case = await cases.by_appeal(appeal.appeal_id, "assigned")
    case_id, unit = case["case_id"], case["unit_id"]
    long_ago = datetime.now(UTC) - timedelta(days=3)
    async with cases.conn.transaction():
        await cases.conn.execute(
            "UPDATE dispatch.cases SET resolve_due = $2 WHERE case_id = $1", case_id, long_ago)
        moved = await cases.conn.execute(
            "UPDATE dispatch.deadlines SET due_at = $2, stage = 'overdue', next_at = now() "
            "WHERE case_id = $1 AND kind = 'resolve' AND next_at IS NOT NULL",
            case_id, long_ago)
        assert moved == "UPDATE 1"
    escalated = await _event(stack, case_id, "escalated", task_topic(unit).name)
    parent = f"township-{unit.split('-')[1][:9]}-office"
    assert escalated["kind"] == "automatic" and escalated["to_unit_ids"] == [parent]
    supervised = await _event(stack, case_id, "supervised")
    assert supervised["level"] == 2
    row = await cases.in_state(case_id, "assigned")
    assert row["unit_id"] == parent and row["tier"] == "township"
    assert (await cases.path(case_id))[-3:] == ["supervised", "escalated", "assigned"]
    assigned = await _event(stack, case_id, "assigned", task_topic(parent).name)
    assert assigned["reason"] == "escalation"
