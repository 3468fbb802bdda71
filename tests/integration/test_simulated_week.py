"""A simulated week on the real broker and PostgreSQL.

The simulator (``python -m civicgrid_simulator --days 7``) plays seven days against the
session stack with dispatch restarted at time scale 1/6000 (a simulated week in about
101 real seconds; a 2-hour sign-for limit is 1.2 s, a 7-working-day limit 2-2.5 min).
It sends its appeals to a second intake process of the stack that takes the channels'
development keys (as ``make run`` lets its intake do when the simulator is on).

Then, in dispatch's tables, every state of the case life cycle
(``civicgrid_dispatch.domain.case.CaseState``) was reached by at least one case:

- received, registered, assigned: every case (received is the state a case is created
  in: its first transition leaves it);
- signed_for, in_progress, resolved: the units' normal work;
- returned: units returning misrouted cases (a case returned twice goes up to the city
  platform, which the simulated desk dispatches by hand);
- extension_requested: units asking for more time (the desk grants most);
- escalated: units handing up (上报), and automatic escalation of cases whose unit never
  signed for them (absent units: overdue under supervision for 24 h × scale);
- supervised: units signing for (or resolving) after the deadline: the timer's overdue
  step supervises the case (督办);
- called_back, closed, reopened: citizens answering call-backs through intake; "not
  solved" or "not satisfied" reopens; unanswered call-backs close when due;
- merged: repeat reports of an open case: no case row of its own, the appeal is joined
  to the case (``case_appeals.merged_at``);
- rejected: NOT reachable through intake. Dispatch rejects only an appeal without a
  county (``out_of_territory``), and intake already refuses such an appeal (422, a point
  outside the city's grids) before dispatch sees it. The simulator sends one appeal in a
  hundred from outside the city and counts intake's refusals; the test checks those.

And analytics counted every appeal that reached dispatch, and the life cycle.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from civicgrid_dispatch.domain.case import CaseState
from civicgrid_stack.ports import Ports
from civicgrid_stack.services import ServiceProcess
from civicgrid_stack.stack import Stack

from tests.integration.helpers import indicators, url, wait_for

pytestmark = pytest.mark.integration

SCALE = "1/6000"
DAYS = 7
RATE = 4.0  # appeals per real second: about 400 in the week


@pytest.fixture
def simulated_platform(stack: Stack) -> Iterator[str]:
    """Dispatch restarted with its time limits scaled down (restored afterwards), and an
    intake with the channels' development keys; yields that intake's URL."""
    port = Ports.free().intake
    intake = ServiceProcess(
        "intake-sim", "civicgrid_intake", port,
        {**stack.service_env("intake"), "CIVICGRID_HTTP_PORT": str(port),
         "CIVICGRID_DEV_CHANNEL_KEYS": "1"},
        stack.layout.log("intake-sim"), "127.0.0.1")
    dispatch = stack.services["dispatch"]
    saved = dict(dispatch.env)
    dispatch.stop()
    dispatch.env.update({"CIVICGRID_DISPATCH_TIME_SCALE": repr(1 / 6000),
                         "CIVICGRID_DISPATCH_SCHEDULER_INTERVAL_S": "0.25"})
    try:
        intake.start()
        dispatch.start()
        intake.wait_ready(timeout=120)
        dispatch.wait_ready(timeout=120)
        yield intake.base_url
    finally:
        intake.stop()
        dispatch.stop()
        dispatch.env = saved
        dispatch.start()
        dispatch.wait_ready(timeout=120)


async def _simulate(stack: Stack, intake: str, summary: Path) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "civicgrid_simulator", "--days", str(DAYS),
        "--time-scale", SCALE, "--rate", str(RATE), "--seed", "20261122",
        "--intake", intake, "--dispatch", url(stack, "dispatch", ""),
        "--analytics", url(stack, "analytics", ""), "--bootstrap", stack.broker.bootstrap,
        "--progress-every", "10", "--summary", str(summary),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=240)
    except TimeoutError:
        proc.kill()
        raise
    text = out.decode(errors="replace")
    print(text)
    assert proc.returncode == 0, text[-3000:]
    assert f"played {DAYS} simulated days" in text
    return text


@pytest.mark.timeout(600)
async def test_a_simulated_week_reaches_every_state(
        stack: Stack, simulated_platform: str, tmp_path: Path) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    summary_file = tmp_path / "summary.json"
    await _simulate(stack, simulated_platform, summary_file)
    summary: dict[str, Any] = json.loads(summary_file.read_text())
    errors = summary["errors"]
    assert not errors.get("internal") and not errors.get("refused"), errors
    assert summary["accepted"] >= 250 and summary["callbacks"] > 0

    conn = await asyncpg.connect(stack.postgres.dsn())
    try:
        # Every accepted appeal reaches dispatch (those still in triage excepted).
        expected = summary["accepted"] - (summary["triage"] - summary["classified"])

        async def all_in_dispatch() -> int | None:
            n = await conn.fetchval(
                "SELECT count(*) FROM dispatch.case_appeals WHERE received_at >= $1", since)
            return int(n) if n == expected else None

        appeals = await wait_for(all_in_dispatch, 180, f"{expected} appeals in dispatch")
        rows = await conn.fetch(
            "SELECT t.from_state, t.to_state FROM dispatch.case_transitions t "
            "JOIN dispatch.cases c USING (case_id) WHERE c.received_at >= $1", since)
        reached = {r["from_state"] for r in rows} | {r["to_state"] for r in rows}
        merged = await conn.fetchval(
            "SELECT count(*) FROM dispatch.case_appeals "
            "WHERE merged_at IS NOT NULL AND received_at >= $1", since)
        cases = await conn.fetchval(
            "SELECT count(*) FROM dispatch.cases WHERE received_at >= $1", since)
        escalations = {r["kind"] for r in await conn.fetch(
            "SELECT DISTINCT split_part(t.reason, ':', 1) AS kind "
            "FROM dispatch.case_transitions t JOIN dispatch.cases c USING (case_id) "
            "WHERE c.received_at >= $1 AND t.to_state = 'escalated'", since)}
    finally:
        await conn.close()

    as_rows = {CaseState(s) for s in reached}
    missing = set(CaseState) - as_rows - {CaseState.MERGED, CaseState.REJECTED}
    assert not missing, f"states no case reached: {sorted(missing)}; reached {sorted(reached)}"
    assert merged > 0, "no repeat report was merged into an open case"
    assert summary["refused"] > 0, "intake refused no appeal from outside the city"
    assert {"escalate", "automatic"} <= escalations, escalations

    # Analytics counted them: every appeal, every case, and the life cycle.
    async with httpx.AsyncClient(timeout=10) as client:
        async def counted() -> dict[str, Any] | None:
            total = (await indicators(client, stack, **{"from": since.isoformat()}))["total"]
            return total if total["received"] == appeals and total["registered"] == cases \
                else None

        total = await wait_for(counted, 60, "analytics to count the week's appeals")
    assert total["merged"] == merged
    for indicator in ("assigned", "signed", "returned", "escalated", "disposed",
                      "called_back", "closed", "reopened"):
        assert total[indicator] > 0, indicator
