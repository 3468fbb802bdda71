"""Enforcement on the real stack: hand-over to outcome, records, refusals, disclosure,
joint inspections, the 90-day limit."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from civicgrid_shared.contracts.events import EnforcementOutcome
from civicgrid_shared.contracts.topics import ENFORCEMENT
from civicgrid_stack.stack import Stack

from tests.integration.enforcement_helpers import (
    BASE,
    PARTY,
    decoded,
    event_type,
    evidence,
    find_lead,
    hand_over,
    patrol_lead,
    post,
    random_place,
    unlabelled_metric,
)
from tests.integration.helpers import metric, read_topic, url, wait_for

pytestmark = pytest.mark.integration

WARNING_ON_THE_SPOT = {"officer_id": "ZF-0001", "kind": "penalty", "procedure": "simple",
                       "severity": "minor", "measures": ["warning"],
                       "reason": "占道经营，当场警告", "delivered_on_the_spot": True}


async def test_handed_over_case_is_filed_decided_closed_and_reported_back(stack: Stack
                                                                        ) -> None:
    place = random_place()
    dispatch_case_id = await hand_over(stack, place, "EF-001")
    async with httpx.AsyncClient(timeout=15) as client:
        async def lead() -> dict[str, Any] | None:
            return await find_lead(client, stack, place, dispatch_case_id)

        case = await wait_for(lead, what="a lead for the handed-over case")
        assert case["source"] == "dispatch" and case["violation_code"] == "SV-001"
        case_id = case["case_id"]
        filed = await post(client, stack, place, f"/cases/{case_id}/file",
                           {"officer_id": "ZF-0001", "party": PARTY})
        assert filed["state"] == "filed" and filed["case_number"].startswith("ZF")
        decided = await post(client, stack, place, f"/cases/{case_id}/decision",
                             WARNING_ON_THE_SPOT)
        assert decided["state"] == "delivered"
        closed = await post(client, stack, place, f"/cases/{case_id}/close",
                            {"officer_id": "ZF-0001"})
        assert closed["state"] == "closed" and closed["outcome"] == "warning"

        record = await read_topic(
            stack, ENFORCEMENT.name,
            lambda r: r.key == str(dispatch_case_id).encode()
            and event_type(r) == EnforcementOutcome.event_type)
        outcome = decoded(record).payload(EnforcementOutcome)
        assert outcome.case_id == dispatch_case_id
        assert str(outcome.enforcement_case_id) == case_id
        assert outcome.outcome == "warning" and "SV-001" in outcome.summary
        raw = record.value.decode() + repr(record.headers)
        for secret in ("王小明", "13912345678", "140502199001011234", "幸福路"):
            assert secret not in raw

        detail = (await client.get(url(stack, "enforcement", f"{BASE}/cases/{case_id}"),
                                   headers=place.headers)).json()
        assert [s["to"] for s in detail["steps"]] == [
            "lead", "filed", "decided", "delivered", "closed"]
        assert detail["party"]["name"] == "王**" and "13912345678" not in str(detail)
        verify = (await client.get(
            url(stack, "enforcement", f"{BASE}/cases/{case_id}/chain/verify"),
            headers=place.headers)).json()
        assert verify["ok"] is True and verify["records"] >= 6

        published = await post(client, stack, place, f"/cases/{case_id}/disclosure",
                               {"officer_id": "ZF-0001"}, expect=201)
        assert published["party"] == "王**"
        public = await client.get(url(stack, "enforcement", f"{BASE}/disclosures"),
                                  params={"team_unit_id": place.team_id})
        assert public.status_code == 200
        mine = [d for d in public.json()["disclosures"]
                if d["case_number"] == filed["case_number"]]
        assert len(mine) == 1 and mine[0]["penalty"] == "警告"
        assert mine[0]["legal_basis"].startswith("《城市市容和环境卫生管理条例》")
        for secret in ("王小明", "13912345678", "140502199001011234", "幸福路"):
            assert secret not in public.text
        await post(client, stack, place, f"/cases/{case_id}/disclosure",
                   {"officer_id": "ZF-0001"}, expect=409)
        assert await metric(client, stack, "enforcement",
                            "civicgrid_enforcement_disclosures_total",
                            {"timeliness": "on_time"}) >= 1


async def test_tampered_record_is_reported_as_the_first_broken_link(stack: Stack) -> None:
    place = random_place()
    async with httpx.AsyncClient(timeout=15) as client:
        case_id = await patrol_lead(client, stack, place)
        await post(client, stack, place, f"/cases/{case_id}/file",
                   {"officer_id": "ZF-0001", "party": PARTY})
        await post(client, stack, place, f"/cases/{case_id}/evidence", evidence(place, 7),
                   expect=201)
        verify_url = url(stack, "enforcement", f"{BASE}/cases/{case_id}/chain/verify")
        assert (await client.get(verify_url, headers=place.headers)).json()["ok"] is True

        conn = await asyncpg.connect(stack.postgres.dsn())
        try:
            with pytest.raises(asyncpg.PostgresError, match="append-only"):
                await conn.execute("UPDATE enforcement.case_records SET kind = 'x' "
                                   "WHERE case_id = $1", uuid.UUID(case_id))
            with pytest.raises(asyncpg.PostgresError, match="append-only"):
                await conn.execute("DELETE FROM enforcement.case_records WHERE case_id = $1",
                                   uuid.UUID(case_id))
            async with conn.transaction():
                await conn.execute("ALTER TABLE enforcement.case_records "
                                   "DISABLE TRIGGER case_records_append_only")
                await conn.execute(
                    "UPDATE enforcement.case_records SET record = jsonb_set(record, "
                    "'{data,sha256}', to_jsonb(repeat('f', 64))) "
                    "WHERE case_id = $1 AND kind = 'evidence' AND seq = 2",
                    uuid.UUID(case_id))
                await conn.execute("ALTER TABLE enforcement.case_records "
                                   "ENABLE TRIGGER case_records_append_only")
        finally:
            await conn.close()
        broken = (await client.get(verify_url, headers=place.headers)).json()
        assert broken["ok"] is False and broken["broken_at_seq"] == 2
        assert "hash" in broken["reason"]


async def test_only_the_owning_team_sees_and_acts(stack: Stack) -> None:
    place, other = random_place(), random_place()
    while other.team_id == place.team_id:
        other = random_place()
    async with httpx.AsyncClient(timeout=15) as client:
        case_id = await patrol_lead(client, stack, place)
        case_url = url(stack, "enforcement", f"{BASE}/cases/{case_id}")
        assert (await client.get(case_url)).status_code == 401
        assert (await client.get(case_url, headers={"X-Api-Key": "dev-nobody"})
                ).status_code == 401
        assert (await client.get(case_url, headers=other.headers)).status_code == 404
        assert (await client.get(case_url, headers=place.department_headers(
            "market_supervision"))).status_code == 403
        r = await client.post(f"{case_url}/file", headers=other.headers,
                              json={"officer_id": "ZF-0002", "party": PARTY})
        assert r.status_code == 404
        r = await client.post(url(stack, "enforcement", f"{BASE}/leads"),
                              headers=other.headers,
                              json={"officer_id": "ZF-0002", "grid_code": place.grid_code,
                                    "description": "x"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.grid_code"


async def test_refusals_name_the_rule(stack: Stack) -> None:
    place = random_place()
    async with httpx.AsyncClient(timeout=15) as client:
        case_id = await patrol_lead(client, stack, place)
        # Illegal transition: a lead cannot be closed.
        r = await post(client, stack, place, f"/cases/{case_id}/close",
                       {"officer_id": "ZF-0001"}, expect=409)
        assert "lead cannot become closed" in r["errors"][0]["reason"]
        # Bad input: field paths.
        r = await post(client, stack, place, f"/cases/{case_id}/file",
                       {"officer_id": "x", "party": {"party_type": "alien", "name": ""}},
                       expect=422)
        fields = {e["field"] for e in r["errors"]}
        assert {"body.officer_id", "body.party.party_type", "body.party.name"} <= fields
        assert "alien" not in str(r)
        # Not the township's power.
        r = await post(client, stack, place, f"/cases/{case_id}/file",
                       {"officer_id": "ZF-0001", "violation_code": "UB-001", "party": PARTY},
                       expect=422)
        assert "market_supervision" in r["errors"][0]["reason"]
        await post(client, stack, place, f"/cases/{case_id}/file",
                   {"officer_id": "ZF-0001", "party": PARTY})
        # Outside the discretion benchmark (SV-002 general: 50-200 yuan for individuals).
        r = await post(client, stack, place, f"/cases/{case_id}/decision",
                       {**WARNING_ON_THE_SPOT, "severity": "general", "fine_yuan": 500,
                        "measures": []}, expect=422)
        assert "50-200 yuan" in r["errors"][0]["reason"]
        # The ordinary procedure cannot skip the investigation.
        r = await post(client, stack, place, f"/cases/{case_id}/decision",
                       {**WARNING_ON_THE_SPOT, "procedure": "ordinary",
                        "delivered_on_the_spot": False}, expect=409)
        assert "simple procedure" in r["errors"][0]["reason"]
        # First offence, corrected: exempted.
        r = await post(client, stack, place, f"/cases/{case_id}/decision", {
            "officer_id": "ZF-0001", "kind": "exempted", "procedure": "simple",
            "severity": "minor", "measures": ["order_to_correct"], "first_offence": True,
            "corrected": True, "reason": "首次违法，当场改正"})
        assert r["outcome"] == "exempted"
        assert await unlabelled_metric(client, stack,
                                       "civicgrid_enforcement_exemptions_total") >= 1


async def test_overdue_cases_are_listed(stack: Stack) -> None:
    place = random_place()
    async with httpx.AsyncClient(timeout=15) as client:
        case_id = await patrol_lead(client, stack, place)
        await post(client, stack, place, f"/cases/{case_id}/file",
                   {"officer_id": "ZF-0001", "party": PARTY})
        conn = await asyncpg.connect(stack.postgres.dsn())
        try:  # filed 100 days ago
            await conn.execute(
                "UPDATE enforcement.cases SET filed_at = now() - interval '100 days', "
                "decision_due = now() - interval '10 days' WHERE case_id = $1",
                uuid.UUID(case_id))
        finally:
            await conn.close()
        r = await client.get(url(stack, "enforcement", f"{BASE}/cases"),
                             params={"overdue": "true"}, headers=place.headers)
        cases = {c["case_id"]: c for c in r.json()["cases"]}
        assert case_id in cases and cases[case_id]["decision_deadline"] == "overdue"


async def test_joint_inspection_opens_a_case_per_violation_and_counts_savings(
    stack: Stack,
) -> None:
    place = random_place()
    depts = ["urban_management", "market_supervision", "fire_rescue"]
    async with httpx.AsyncClient(timeout=15) as client:
        listing = url(stack, "enforcement", f"{BASE}/inspections")
        before = (await client.get(listing, headers=place.headers)).json()["summary"]
        plan = await post(client, stack, place, "/inspections", {
            "officer_id": "ZF-0001", "grid_code": place.grid_code,
            "business_ref": "91140500MA0L12345X", "planned_for": "2026-12-01",
            "departments": [{"department_kind": "urban_management",
                             "items": ["SV-002", "AD-002"]},
                            {"department_kind": "market_supervision"},
                            {"department_kind": "fire_rescue"}]}, expect=201)
        iid = plan["inspection_id"]
        results = {"officer_id": "ZF-0001", "performed_at": "2026-12-01T10:00:00+08:00",
                   "violations": [{"violation_code": "AD-002"},
                                  {"violation_code": "WS-001", "evidence": [evidence(place)]}]}
        await post(client, stack, place, f"/inspections/{iid}/results", results, expect=409)
        for kind in depts:
            r = await client.post(f"{listing}/{iid}/confirmations",
                                  headers=place.department_headers(kind),
                                  json={"officer_id": "DEP-0001"})
            assert r.status_code == 200, r.text
        done = await post(client, stack, place, f"/inspections/{iid}/results", results)
        assert done["state"] == "completed" and len(done["case_ids"]) == 2
        await post(client, stack, place, f"/inspections/{iid}/results", results, expect=409)
        after = (await client.get(listing, headers=place.headers)).json()["summary"]
        assert after["joint_visits"] == before["joint_visits"] + 1
        assert after["inspections_saved"] == before["inspections_saved"] + 2
        for case_id in done["case_ids"]:
            r = await client.get(url(stack, "enforcement", f"{BASE}/cases/{case_id}"),
                                 headers=place.headers)
            assert r.json()["source"] == "inspection" and r.json()["state"] == "lead"
