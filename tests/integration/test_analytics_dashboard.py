"""The city screen in a real browser: headless Chromium opens /dashboard, waits for the
live feed (server-sent events), saves a screenshot and reads the figures shown."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from civicgrid_stack.stack import Stack

from tests.integration.analytics_helpers import Browser, chromium
from tests.integration.helpers import appeal_body, random_grid_code, url, wait_for

pytestmark = pytest.mark.integration

SCREENSHOT_DIR = Path(os.environ.get("CIVICGRID_SCREENSHOT_DIR", ".run/screenshots"))


async def test_dashboard_shows_live_non_zero_figures(stack: Stack, tmp_path: Path) -> None:
    binary = chromium()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(3):
            r = await client.post(url(stack, "intake", "/v1/appeals"),
                                  json=appeal_body(random_grid_code()))
            assert r.status_code == 201, r.text
        echarts = await client.get(url(stack, "analytics", "/static/echarts.min.js"))
        assert echarts.status_code == 200, "run: npm ci --prefix services/analytics"

        async def counted() -> bool | None:
            data = (await client.get(url(stack, "analytics", "/v1/dashboard/data"))).json()
            today = data["today"]
            # Registration goes through dispatch: wait for it too, not only for intake.
            return True if today["received"] >= 3 and today["accepted"] >= 1 else None

        await wait_for(counted, timeout=60, what="today's appeals registered in analytics")

    async with Browser(binary) as browser:
        await browser.goto(url(stack, "analytics", "/dashboard"))

        async def live() -> dict[str, str] | None:
            state = await browser.evaluate(
                "({live: document.body.dataset.live, updates: document.body.dataset.updates,"
                " received: document.getElementById('fig-received').textContent,"
                " accepted: document.getElementById('fig-accepted').textContent,"
                " charts: typeof window.echarts,"
                " canvases: document.querySelectorAll('#chart-trend canvas').length})")
            ok = isinstance(state, dict) and state.get("live") == "1" \
                and int(state.get("updates") or 0) >= 2
            return state if ok else None

        state = await wait_for(live, timeout=60, what="two live snapshots on the page")
        shot = SCREENSHOT_DIR / "dashboard.png"
        await browser.screenshot(shot)
    assert shot.stat().st_size > 10_000
    assert state["charts"] == "object" and int(state["canvases"]) >= 1
    assert int(state["received"]) >= 3 and int(state["accepted"]) >= 1
