"""Dispatch's routing extras on the real stack: resolved on the spot, duplicates merged,
hand-over to enforcement and its outcome, the green channel for unpaid wages,
whistle-blowing with the summoned department's response, and historical imports."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from civicgrid_shared.contracts.events import (
    EnforcementOutcome,
    HistoricalRecord,
    UnitAction,
)
from civicgrid_shared.contracts.topics import CASES, ENFORCEMENT, task_topic
from civicgrid_stack.stack import Stack

from tests.integration.dispatch_helpers import (
    Cases,
    post,
    publish,
    publish_appeal,
    random_territory,
    respond,
    workbench,
)
from tests.integration.helpers import read_topic, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
async def cases(stack: Stack) -> AsyncIterator[Cases]:
    conn = await asyncpg.connect(stack.postgres.dsn())
    try:
        yield Cases(conn)
    finally:
        await conn.close()


async def _event(stack: Stack, case_id: uuid.UUID, event_type: str,
                 topic: str = CASES.name) -> dict[str, Any]:
    def match(record: Any) -> bool:
        return record.key == str(case_id).encode() and dict(record.headers).get(
            "ce_type") == f"civicgrid.case.{event_type}".encode()
    return json.loads((await read_topic(stack, topic, match)).value)  # type: ignore[no-any-return]


async def test_resolved_on_the_spot_is_closed_at_grid_level_then_called_back(
        stack: Stack, cases: Cases) -> None:
    territory = random_territory()
    appeal = await publish_appeal(stack, territory=territory, resolved_on_spot=True,
                                  resolution_note="网格员现场清理完毕")
    case = await cases.by_appeal(appeal.appeal_id, "resolved")
    assert case["unit_id"] == f"grid-{territory.grid_code}" and case["on_the_spot"]
    resolved = await _event(stack, case["case_id"], "resolved")
    assert resolved["on_the_spot"] is True and resolved["result"] == "网格员现场清理完毕"
    await _event(stack, case["case_id"], "callback_requested")


async def test_a_duplicate_of_an_open_case_is_merged_not_dispatched(
        stack: Stack, cases: Cases) -> None:
    first = await publish_appeal(stack)
    case = await cases.by_appeal(first.appeal_id, "assigned")
    repeat = await publish_appeal(stack, territory=random_territory(),
                                  duplicate_of_case_id=case["case_id"])
    merged = await _event(stack, case["case_id"], "merged")
    assert merged["appeal_id"] == str(repeat.appeal_id)
    assert await cases.conn.fetchval(
        "SELECT count(*) FROM dispatch.cases WHERE appeal_id = $1", repeat.appeal_id) == 0
    assert await cases.conn.fetchval(
        "SELECT case_id FROM dispatch.case_appeals WHERE appeal_id = $1",
        repeat.appeal_id) == case["case_id"]


async def test_enforcement_matter_is_handed_over_and_its_outcome_resolves_the_case(
        stack: Stack, cases: Cases) -> None:
    territory = random_territory()
    appeal = await publish_appeal(stack, "EF-001", territory=territory,
                                  content="路口有人长期占道经营摆摊。")
    # The durable hand-over counts as the team's sign-for; the decision resolves it.
    case = await cases.by_appeal(appeal.appeal_id, "signed_for")
    assert case["unit_id"] == f"township-{territory.township_code}-enforcement"
    handed = await _event(stack, case["case_id"], "handed_over", ENFORCEMENT.name)
    assert handed["to"] == "enforcement" and handed["unit_id"] == case["unit_id"]
    outcome = EnforcementOutcome(case_id=case["case_id"], enforcement_case_id=uuid.uuid4(),
                                 outcome="warning", summary="责令改正，已清理摊位",
                                 decided_at=datetime.now(UTC))
    await publish(stack, outcome, ENFORCEMENT.name, str(case["case_id"]))
    row = await cases.in_state(case["case_id"], "resolved")
    assert row["result"] == "责令改正，已清理摊位"


async def test_the_team_signing_for_a_handed_over_case_changes_nothing(
        stack: Stack, cases: Cases) -> None:
    """The hand-over is the team's sign-for, and the team's department system gets the
    task too. Its own sign-for (the reference client signs for every task) is taken, by
    either way in, with no second transition and no dead letter."""
    territory = random_territory()
    appeal = await publish_appeal(stack, "EF-001", territory=territory,
                                  content="路口有人长期占道经营摆摊。")
    case = await cases.by_appeal(appeal.appeal_id, "signed_for")
    case_id, team = case["case_id"], case["unit_id"]
    before = await cases.path(case_id)
    response = await respond(stack, case_id, team, UnitAction.SIGN_FOR)

    async def taken() -> bool | None:
        # recorded in the transaction that acts on it: a dead-lettered one is rolled back
        return True if await cases.conn.fetchval(
            "SELECT true FROM dispatch.unit_responses WHERE response_id = $1",
            response.response_id) else None

    await wait_for(taken, what="the team's sign-for on the responses topic to be taken")
    async with httpx.AsyncClient(timeout=10) as client:
        again = await post(client, workbench(stack, f"/tasks/{case_id}/sign-for"), team)
    assert again.status_code == 200, again.text
    assert again.json()["state"] == "signed_for"
    after = await cases.get(case_id)
    assert (after["state"], after["signed_at"]) == ("signed_for", case["signed_at"])
    assert await cases.path(case_id) == before


async def test_large_unpaid_wages_take_the_green_channel(stack: Stack, cases: Cases) -> None:
    territory = random_territory()
    appeal = await publish_appeal(stack, "LB-002", territory=territory,
                                  content="工地老板拖欠28名工人工资共18万元，至今未付。")
    case = await cases.by_appeal(appeal.appeal_id, "assigned")
    assert case["unit_id"] == f"county-{territory.county_code}-labour-inspection"
    assert case["priority"] == "emergency"
    assert list(case["cooperating_unit_ids"]) == [f"county-{territory.county_code}-procuratorate"]
    handed = await _event(stack, case["case_id"], "handed_over")
    assert handed["to"] == "green_channel"
    # The co-operating procuratorate gets the task on its own topic too.
    await _event(stack, case["case_id"], "assigned",
                 task_topic(f"county-{territory.county_code}-procuratorate").name)


async def test_whistle_summons_the_county_department_which_responds(
        stack: Stack, cases: Cases) -> None:
    territory = random_territory()
    appeal = await publish_appeal(stack, "CA-013", territory=territory,
                                  content="主干道积雪结冰严重，车辆打滑。")
    case = await cases.by_appeal(appeal.appeal_id, "assigned")
    office, dept = case["unit_id"], f"county-{territory.county_code}-urban-management"
    assert office == f"township-{territory.township_code}-office"
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await post(client, workbench(stack, f"/tasks/{case['case_id']}/sign-for"),
                           office)).status_code == 200
        early = await post(client, workbench(stack, f"/tasks/{case['case_id']}/respond"), dept)
        assert early.status_code == 403  # not summoned yet
        r = await post(client, workbench(stack, f"/tasks/{case['case_id']}/escalate"), office,
                       {"reason": "需要县城管局调派除雪车", "kind": "whistle"})
        assert r.status_code == 200, r.text
        assert r.json()["unit_id"] == office and dept in r.json()["cooperating_unit_ids"]
    whistle = await _event(stack, case["case_id"], "escalated", task_topic(dept).name)
    assert whistle["kind"] == "whistle" and whistle["to_unit_ids"] == [dept]
    respond_due = datetime.fromisoformat(whistle["respond_due"])
    assert respond_due - datetime.fromisoformat(whistle["escalated_at"]) == timedelta(minutes=30)
    await respond(stack, case["case_id"], dept, UnitAction.RESPOND)

    async def responded() -> bool | None:
        at = await cases.conn.fetchval(
            "SELECT responded_at FROM dispatch.case_summons WHERE case_id = $1 AND unit_id = $2",
            case["case_id"], dept)
        return True if at is not None else None

    await wait_for(responded, what="the summoned department's response")
    assert await cases.conn.fetchval(
        "SELECT count(*) FROM dispatch.deadlines WHERE case_id = $1 AND kind = 'respond' "
        "AND next_at IS NOT NULL", case["case_id"]) == 0


async def test_history_is_replayed_with_its_original_times_and_no_timers(
        stack: Stack, cases: Cases) -> None:
    created = datetime(2011, 3, 4, 8, 30, tzinfo=UTC)
    closed = datetime(2011, 3, 9, 17, 0, tzinfo=UTC)
    appeal = await publish_appeal(stack, history=HistoricalRecord(
        source="nyc-311-2011", created_at=created, closed_at=closed, status="Closed",
        agency="DOT", category="Street Condition"))
    case = await cases.by_appeal(appeal.appeal_id, "closed")
    assert (case["unit_id"], case["tier"], case["historical"]) == ("history-dot", "county", True)
    assert case["registered_at"] == created and case["closed_at"] == closed
    assert (await _event(stack, case["case_id"], "resolved"))["resolved_at"].startswith(
        "2011-03-09")
    assert (await _event(stack, case["case_id"], "closed"))["closed_at"].startswith("2011-03-09")
    assert await cases.conn.fetchval(
        "SELECT count(*) FROM dispatch.deadlines WHERE case_id = $1", case["case_id"]) == 0
    assert await cases.path(case["case_id"]) == [
        "registered", "assigned", "signed_for", "resolved", "closed"]
