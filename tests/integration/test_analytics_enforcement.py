"""Analytics' enforcement indicators on the real stack: drive enforcement's HTTP API
(a patrol lead filed, fined, disclosed, the fine paid and the case closed; a joint inspection of
three departments), then read the team's row of GET /v1/enforcement-indicators.

The window starts when the test does, so earlier tests' cases of the same team (a team
serves a whole township) are not counted with these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from civicgrid_shared.contracts.topics import ENFORCEMENT
from civicgrid_stack.stack import Stack

from tests.integration.enforcement_helpers import (
    BASE,
    PARTY,
    patrol_lead,
    post,
    random_place,
    records_with_keys,
)
from tests.integration.helpers import metric, produce, url, wait_for

pytestmark = pytest.mark.integration

FINE = {"officer_id": "ZF-0001", "kind": "penalty", "procedure": "simple",
        "severity": "general", "fine_yuan": 100, "measures": [],
        "reason": "占道经营，当场罚款", "delivered_on_the_spot": True}
DEPARTMENTS = ["urban_management", "market_supervision", "fire_rescue"]


async def _team_row(client: httpx.AsyncClient, stack: Stack, since: datetime, team: str
                    ) -> dict[str, Any] | None:
    r = await client.get(url(stack, "analytics", "/v1/enforcement-indicators"),
                         params={"from": since.isoformat(), "group_by": "team"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["group_by"] == "team" and body["from"] is not None
    return next((row for row in body["rows"] if row["key"] == team), None)


async def test_enforcement_work_shows_in_the_teams_indicators(stack: Stack) -> None:
    place = random_place()
    since = datetime.now(UTC)
    async with httpx.AsyncClient(timeout=15) as client:
        case_id = await patrol_lead(client, stack, place)
        await post(client, stack, place, f"/cases/{case_id}/file",
                   {"officer_id": "ZF-0001", "party": PARTY})
        decided = await post(client, stack, place, f"/cases/{case_id}/decision", FINE)
        assert decided["state"] == "delivered"
        await post(client, stack, place, f"/cases/{case_id}/disclosure",
                   {"officer_id": "ZF-0001"}, expect=201)
        await post(client, stack, place, f"/cases/{case_id}/execution",
                   {"officer_id": "ZF-0001"})  # the fine was paid
        await post(client, stack, place, f"/cases/{case_id}/close", {"officer_id": "ZF-0001"})

        plan = await post(client, stack, place, "/inspections", {
            "officer_id": "ZF-0001", "grid_code": place.grid_code,
            "business_ref": "91140500MA0L12345X",
            "planned_for": since.date().isoformat(),
            "departments": [{"department_kind": k} for k in DEPARTMENTS]}, expect=201)
        iid = plan["inspection_id"]
        for kind in DEPARTMENTS:
            r = await client.post(url(stack, "enforcement", f"{BASE}/inspections/{iid}/"
                                      "confirmations"),
                                  headers=place.department_headers(kind),
                                  json={"officer_id": "DEP-0001"})
            assert r.status_code == 200, r.text
        done = await post(client, stack, place, f"/inspections/{iid}/results",
                          {"officer_id": "ZF-0001",
                           "performed_at": datetime.now(UTC).isoformat(),
                           "violations": []})
        assert done["state"] == "completed"

        expected = {"leads": 1, "cases_filed": 1, "decisions": 1, "penalties": 1,
                    "fines_yuan": 100, "exemptions": 0, "no_violation": 0,
                    "disclosures": 1, "disclosures_on_time": 1,
                    "disclosure_on_time_rate": 1.0, "cases_closed": 1,
                    "joint_inspections": 1, "inspections_saved": len(DEPARTMENTS) - 1,
                    "violations_found": 0}

        async def counted() -> dict[str, Any] | None:
            row = await _team_row(client, stack, since, place.team_id)
            if row is None or any(row[k] < v for k, v in expected.items()):
                return None
            return row

        row = await wait_for(counted, timeout=60, what="the team's enforcement indicators")
        assert {k: row[k] for k in expected} == expected

        # A redelivery of the same events (same ids) counts once.
        duplicates = {"consumer": "analytics-enforcement"}
        before = await metric(client, stack, "analytics", "civicgrid_events_duplicate_total",
                              duplicates)
        records = await records_with_keys(stack, ENFORCEMENT.name, {case_id, iid})
        assert len(records) >= 6
        for rec in records:
            await produce(stack, ENFORCEMENT.name, rec.key, rec.value, list(rec.headers))

        async def skipped() -> float | None:
            now = await metric(client, stack, "analytics", "civicgrid_events_duplicate_total",
                               duplicates)
            return now if now >= before + 6 else None

        await wait_for(skipped, timeout=60, what="the redelivered events to be skipped")
        row = await _team_row(client, stack, since, place.team_id)
        assert row is not None and {k: row[k] for k in expected} == expected

        # Grouped by county: the case is under its lead's county.
        r = await client.get(url(stack, "analytics", "/v1/enforcement-indicators"),
                             params={"from": since.isoformat(), "group_by": "county"})
        counties = {c["key"]: c for c in r.json()["rows"]}
        assert counties[place.territory.county_code]["cases_filed"] >= 1
