"""An appeal accepted while the broker is down still arrives once it is back (outbox).

The embedded broker keeps nothing across a restart: the services must notice, recreate
their topics, re-drive what the old broker held, and resume consuming by themselves.
This test gets a stack of its own because it restarts the broker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from civicgrid_stack.stack import Stack

from tests.integration.conftest import start_stack
from tests.integration.helpers import appeal_body, indicators, random_grid_code, url, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(tmp_path_factory.mktemp("outage"))
    try:
        yield s
    finally:
        s.stop()


async def test_appeal_accepted_while_broker_down_arrives_after_restart(own_stack: Stack) -> None:
    stack = own_stack
    before_grid, during_grid = random_grid_code(), random_grid_code()
    async with httpx.AsyncClient(timeout=10) as client:
        # One appeal through the healthy platform first: the broker will forget it.
        r = await client.post(url(stack, "intake", "/v1/appeals"), json=appeal_body(before_grid))
        assert r.status_code == 201

        async def assigned(grid: str) -> dict[str, Any] | None:
            total = (await indicators(client, stack, grid_code=grid))["total"]
            return total if total["assigned"] >= 1 else None

        await wait_for(lambda: assigned(before_grid), what="the first appeal")

        stack.broker.stop()
        r = await client.post(url(stack, "intake", "/v1/appeals"), json=appeal_body(during_grid))
        assert r.status_code == 201, "intake must accept appeals while the broker is down"
        stack.broker.start()

        total = await wait_for(lambda: assigned(during_grid), timeout=90,
                               what="the appeal accepted during the outage")
        assert total["received"] == 1 and total["registered"] == 1
        # Re-driven events of the first appeal are absorbed by the inboxes: counted once.
        first = (await indicators(client, stack, grid_code=before_grid))["total"]
        assert first["received"] == 1 and first["registered"] == 1 and first["assigned"] == 1
