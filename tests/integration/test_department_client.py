"""The reference department client against the whole platform: an appeal is assigned
to the unit, the client signs for it and resolves it (over Kafka, then over HTTP), and
dispatch records both steps."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from civicgrid_department_client.client import DepartmentClient
from civicgrid_department_client.policy import Policy
from civicgrid_department_client.state import DepartmentState
from civicgrid_stack.stack import Stack

from tests.integration.helpers import random_phone, url, wait_for

pytestmark = pytest.mark.integration

UNIT = "county-140524-urban-management"  # street lamps (RD-003) at 35.5 N, 112.85 E


# Two points a kilometre apart in one county: the same matter within 250 m of an open
# case would be merged into it as a duplicate.
@pytest.mark.parametrize(("via", "lat", "lon"), [("kafka", 35.5, 112.85), ("http", 35.51, 112.86)])
async def test_reference_client_signs_for_and_resolves(
    stack: Stack, tmp_path: Path, via: Literal["kafka", "http"], lat: float, lon: float
) -> None:
    state = DepartmentState(tmp_path / "dept.sqlite")
    client = DepartmentClient(UNIT, stack.broker.bootstrap, state, Policy(), via=via,
                              workbench_url=url(stack, "dispatch", ""),
                              api_key=f"dev-{UNIT}", group_id=f"department-{UNIT}-{via}")
    stop = asyncio.Event()
    running = asyncio.create_task(client.run(stop))
    headers = {"X-Api-Key": f"dev-{UNIT}"}
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            r = await http.post(url(stack, "intake", "/v1/appeals"), json={
                "channel": "hotline", "external_id": f"guide-{uuid.uuid4()}",
                "content": "路灯不亮，晚上很黑。", "matter_code": "RD-003",
                "latitude": lat, "longitude": lon, "contact_phone": random_phone()})
            assert r.status_code == 201, r.text
            appeal_id = r.json()["appeal_id"]

            async def resolved_case() -> dict[str, Any] | None:
                tasks = await http.get(url(stack, "dispatch", "/v1/workbench/tasks"),
                                       headers=headers,
                                       params={"state": ["resolved", "closed"], "limit": 200})
                if tasks.status_code != 200:
                    return None
                items = tasks.json()
                items = items.get("items", items) if isinstance(items, dict) else items
                mine = [t for t in items if str(t.get("appeal_id")) == appeal_id]
                return mine[0] if mine else None

            case = await wait_for(resolved_case, timeout=60, what="the client to resolve it")
            detail = await http.get(
                url(stack, "dispatch", f"/v1/workbench/tasks/{case['case_id']}"),
                headers=headers)
            assert detail.status_code == 200, detail.text
            states = [h.get("to_state") for h in detail.json()["history"]]
            assert "signed_for" in states and "resolved" in states
            assert "13812341234" not in detail.text
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
        state.close()
    assert client.handled >= 1
