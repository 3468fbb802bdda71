"""The whole hand-over on the real stack, with no event faked: a citizen's appeal to
intake, dispatch hands the enforcement matter to the township team, the team files,
decides, executes and closes it, and the dispatch case comes back resolved with the
decision as its handling result, which the citizen can read by the tracking code."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from civicgrid_shared.contracts.envelope import new_event
from civicgrid_shared.contracts.events import CaseHandedOver, EnforcementOutcome
from civicgrid_shared.contracts.topics import ENFORCEMENT
from civicgrid_stack.stack import Stack

from tests.integration.dispatch_helpers import Cases, dev_key, workbench
from tests.integration.enforcement_helpers import (
    PARTY,
    decoded,
    event_type,
    find_lead,
    place_of,
    post,
)
from tests.integration.helpers import (
    appeal_body,
    produce,
    random_grid_code,
    random_phone,
    read_topic,
    url,
    wait_for,
)

pytestmark = pytest.mark.integration

# An enforcement matter in the platform's catalog (matters.json: "enforcement": true);
# the enforcement catalog maps it to violation SV-001 (占道经营).
MATTER = "EF-001"
CONTENT = "我家楼下路口每天晚上都有人占道摆摊卖水果，车都过不去，希望管一管。"
FINE_ON_THE_SPOT = {"officer_id": "ZF-0001", "kind": "penalty", "procedure": "simple",
                    "severity": "general", "fine_yuan": 100,
                    "measures": ["order_to_correct"], "reason": "占道经营，当场处罚",
                    "delivered_on_the_spot": True}
SECRETS = ("王小明", "13912345678", "140502199001011234", "幸福路")


async def test_appeal_handed_over_by_dispatch_comes_back_resolved_with_the_decision(
    stack: Stack,
) -> None:
    place = place_of(random_grid_code())
    phone = random_phone()  # a distinct citizen: not merged with another appeal
    async with httpx.AsyncClient(timeout=15) as client:
        # 1. A citizen reports street vending; intake takes the explicit matter code.
        r = await client.post(url(stack, "intake", "/v1/appeals"), json=appeal_body(
            place.grid_code, content=CONTENT, matter_code=MATTER, contact_phone=phone))
        assert r.status_code == 201, r.text
        accepted = r.json()
        assert accepted["matter_code"] == MATTER
        assert accepted["duplicate_of_case_id"] is None, "merged into another test's case"
        appeal_id, tracking = uuid.UUID(accepted["appeal_id"]), accepted["tracking_code"]

        # 2. Dispatch assigns it to the township's enforcement team and hands it over.
        conn = await asyncpg.connect(stack.postgres.dsn())
        try:
            # The durable hand-over is enforcement's sign-for (签收); it is then resolved
            # by the decision, on the legal 90-day clock rather than the matter's own.
            row = await Cases(conn).by_appeal(appeal_id, "signed_for")
        finally:
            await conn.close()
        dispatch_case_id = row["case_id"]
        assert row["unit_id"] == place.team_id and row["tier"] == "township"
        assert row["resolve_due"] - row["signed_at"] == timedelta(days=90)
        record = await read_topic(
            stack, ENFORCEMENT.name,
            lambda rec: rec.key == str(dispatch_case_id).encode()
            and event_type(rec) == CaseHandedOver.event_type)
        handed = decoded(record).payload(CaseHandedOver)
        assert handed.to == "enforcement" and handed.unit_id == place.team_id
        assert handed.appeal_id == appeal_id and handed.matter_code == MATTER
        assert handed.territory.grid_code == place.grid_code and handed.content == CONTENT
        task_url = workbench(stack, f"/tasks/{dispatch_case_id}")
        task = (await client.get(task_url, headers=dev_key(place.team_id))).json()
        assert task["role"] == "lead" and task["state"] == "signed_for"
        assert task["result"] is None

        # 3. The team finds the lead, files, decides on the spot, collects, closes.
        async def lead() -> dict[str, Any] | None:
            return await find_lead(client, stack, place, dispatch_case_id)

        case = await wait_for(lead, what="enforcement's lead for the dispatch case")
        assert case["source"] == "dispatch" and case["matter_code"] == MATTER
        assert case["violation_code"] == "SV-001" and case["grid_code"] == place.grid_code
        case_id = case["case_id"]
        filed = await post(client, stack, place, f"/cases/{case_id}/file",
                           {"officer_id": "ZF-0001", "party": PARTY})
        number = filed["case_number"]
        decided = await post(client, stack, place, f"/cases/{case_id}/decision",
                             FINE_ON_THE_SPOT)
        assert decided["state"] == "delivered"
        # Not closed yet: dispatch still waits (the fine is not paid).
        await post(client, stack, place, f"/cases/{case_id}/close",
                   {"officer_id": "ZF-0001"}, expect=409)
        await post(client, stack, place, f"/cases/{case_id}/execution",
                   {"officer_id": "ZF-0001", "reason": "罚款已缴纳"})
        task = (await client.get(task_url, headers=dev_key(place.team_id))).json()
        assert task["state"] == "signed_for" and task["result"] is None
        closed = await post(client, stack, place, f"/cases/{case_id}/close",
                            {"officer_id": "ZF-0001"})
        assert closed["state"] == "closed" and closed["outcome"] == "penalised"

        # 4. The dispatch case is resolved with the decision as its handling result,
        # signed for by enforcement at the hand-over, and waits for the call-back.
        async def resolved() -> dict[str, Any] | None:
            r = await client.get(task_url, headers=dev_key(place.team_id))
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()
            return body if body["state"] == "resolved" else None

        task = await wait_for(resolved, what="the dispatch case to be resolved")
        assert task["result"] == f"占道经营（SV-001），{number}：罚款100元；责令改正"
        assert task["callback_due"] is not None and task["closed_at"] is None
        steps = [(h["to_state"], h["actor"]) for h in task["history"]]
        assert steps[-2:] == [("signed_for", "enforcement"), ("resolved", "enforcement")]
        assert [d["kind"] for d in task["deadlines"]] == ["callback"]
        for secret in SECRETS:
            assert secret not in str(task)

        # 5. What the citizen reads by the tracking code.
        async def citizen_sees_it() -> dict[str, Any] | None:
            r = await client.get(url(stack, "intake", f"/v1/appeals/{tracking}"))
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()
            return body if body["status"] == "resolved" else None

        status = await wait_for(citizen_sees_it, what="the appeal's status to be resolved")
        notes = {n["kind"]: n["note"] for n in status["progress"]}
        assert "综合行政执法队" in notes["assigned"]
        assert number in notes["resolved"] and "罚款100元" in notes["resolved"]
        for secret in (*SECRETS, phone):
            assert secret not in str(status)


async def test_outcome_after_the_team_fed_back_itself_keeps_the_result(stack: Stack) -> None:
    """The team resolved the handed-over case in the workbench first; the decision that
    arrives later is taken (inbox) without overwriting the result or a dead letter."""
    grid, phone = random_grid_code(), random_phone()
    place = place_of(grid)
    async with httpx.AsyncClient(timeout=15) as client:
        r = await client.post(url(stack, "intake", "/v1/appeals"), json=appeal_body(
            grid, content=CONTENT, matter_code=MATTER, contact_phone=phone))
        assert r.status_code == 201, r.text
        conn = await asyncpg.connect(stack.postgres.dsn())
        try:
            row = await Cases(conn).by_appeal(uuid.UUID(r.json()["appeal_id"]), "signed_for")
            case_id = row["case_id"]
            done = await client.post(workbench(stack, f"/tasks/{case_id}/resolve"),
                                     json={"result": "已当场劝离摊贩"},
                                     headers=dev_key(place.team_id))
            assert done.status_code == 200, done.text
            outcome = new_event(EnforcementOutcome(
                case_id=case_id, enforcement_case_id=uuid.uuid4(), outcome="warning",
                summary="占道经营（SV-001）：警告", decided_at=datetime.now(UTC)),
                topic=ENFORCEMENT.name, key=str(case_id), source="/civicgrid/enforcement")
            await produce(stack, ENFORCEMENT.name, outcome.key.encode(), outcome.value,
                          outcome.headers)

            async def applied() -> bool | None:
                return await conn.fetchval(
                    "SELECT true FROM dispatch.inbox WHERE event_id = $1",
                    outcome.event_id)

            await wait_for(applied, what="dispatch to take the late enforcement outcome")
            after = await Cases(conn).get(case_id)
        finally:
            await conn.close()
        assert after["state"] == "resolved" and after["result"] == "已当场劝离摊贩"
