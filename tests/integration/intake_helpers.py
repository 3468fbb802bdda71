"""Helpers for intake's integration tests.

The session stack's intake runs with default settings (no development keys). Tests of
the keyed channel endpoints start one more intake process on the same PostgreSQL and
broker with ``CIVICGRID_DEV_CHANNEL_KEYS=1``: a second instance of the same service,
as in a scaled-out deployment (same schema, same consumer groups).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from civicgrid_shared.contracts.envelope import EventPayload, new_event
from civicgrid_shared.reference.loader import load_territory
from civicgrid_stack.ports import Ports
from civicgrid_stack.services import ServiceProcess
from civicgrid_stack.stack import Stack

from tests.integration.helpers import produce

HOTLINE_KEY = {"X-Api-Key": "dev-hotline"}
GRID_APP_KEY = {"X-Api-Key": "dev-grid_app"}
WEB_BOARD_KEY = {"X-Api-Key": "dev-web_board"}
OPERATOR_KEY = {"X-Api-Key": "dev-operator"}
SLOW_KEY = {"X-Api-Key": "dev-slow"}


@dataclass(frozen=True)
class KeyedIntake:
    base: str
    stack: Stack

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


@pytest.fixture(scope="session")
def keyed_intake(stack: Stack) -> Iterator[KeyedIntake]:
    port = Ports.free().intake
    env = {**stack.service_env("intake"), "CIVICGRID_HTTP_PORT": str(port),
           "CIVICGRID_DEV_CHANNEL_KEYS": "1"}
    proc = ServiceProcess("intake-keyed", "civicgrid_intake", port, env,
                          stack.layout.log("intake-keyed"), "127.0.0.1")
    proc.start()
    try:
        proc.wait_ready(timeout=120)
        yield KeyedIntake(proc.base_url, stack)
    finally:
        proc.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def intake_db(stack: Stack) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(stack.postgres.dsn(), server_settings={"search_path": "intake"})
    try:
        yield conn
    finally:
        await conn.close()


def grid_with_point() -> tuple[str, float, float]:
    """A grid code and a point well inside it (its centroid)."""
    import random

    grid = random.choice(load_territory().grids)
    return grid.code, grid.centroid_lat, grid.centroid_lon


def hotline_body(**overrides: Any) -> dict[str, Any]:
    _grid, lat, lon = grid_with_point()
    body: dict[str, Any] = {
        "ticket_number": f"T{uuid.uuid4().hex[:16]}",
        "caller_phone": "13812341234",
        "call_time": datetime.now(UTC).isoformat(),
        "summary": "路灯不亮",
        "transcript": "市民来电反映，小区门口的路灯坏了一个星期了，晚上很黑，希望尽快修理。",
        "latitude": lat, "longitude": lon,
        "callback_consent": True,
    }
    body.update(overrides)
    return body


async def publish(stack: Stack, topic: str, payload: EventPayload, key: str) -> uuid.UUID:
    event = new_event(payload, topic=topic, key=key, source="/test")
    await produce(stack, topic, key.encode(), event.value, event.headers)
    return event.event_id
