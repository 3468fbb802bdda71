"""Faults on the real stack: every appeal answered 2xx reaches analytics exactly once.

A load generator submits appeals the way a channel system must: a request that fails
(connection refused, 503) is retried with the same external id until it is answered
2xx, so each appeal is accepted exactly once. Mid-stream one part of the platform is
killed with SIGKILL (or restarted), then the test waits until analytics has settled and
prints what was lost and what was counted twice; both must be nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Callable, Iterator

import asyncpg
import httpx
import pytest
from civicgrid_shared.reference.loader import load_territory
from civicgrid_stack.stack import Stack

from tests.integration.conftest import start_stack
from tests.integration.helpers import url

pytestmark = pytest.mark.integration

RATE = 40  # appeals per second
DURATION = 12.0  # seconds of load; the fault strikes after a third of it


@pytest.fixture
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(tmp_path_factory.mktemp("faults"))
    try:
        yield s
    finally:
        s.stop()


def _failures(stack: Stack) -> list[str]:
    """Intake's "request failed" log lines (they name exception classes, no values)."""
    lines = stack.services["intake"].log_path.read_text(errors="replace").splitlines()
    return [line for line in lines if '"request failed' in line][-5:]


async def _submit_until_accepted(client: httpx.AsyncClient, stack: Stack, body: dict[str, object],
                                 accepted: dict[str, str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            r = await client.post(url(stack, "intake", "/v1/appeals"), json=body)
            if r.status_code in (200, 201):
                accepted[str(body["external_id"])] = r.json()["appeal_id"]
                return
            assert r.status_code in (502, 503), \
                f"unexpected {r.status_code}: {r.text}; intake logged: {_failures(stack)}"
        except (httpx.TransportError, httpx.TimeoutException):
            pass  # intake is down or restarting: retry the same external id
        await asyncio.sleep(0.2)
    raise AssertionError("an appeal was never accepted")


async def _load(stack: Stack, accepted: dict[str, str], fault: Callable[[], None]) -> int:
    # Distinct grids: two appeals of one matter on one grid are (rightly) merged.
    grids = random.Random(7).sample([g.code for g in load_territory().grids], 2000)
    submitted: list[asyncio.Task[None]] = []
    async with httpx.AsyncClient(timeout=5) as client:
        started = time.monotonic()
        fired = False
        n = 0
        while time.monotonic() - started < DURATION:
            if not fired and time.monotonic() - started > DURATION / 3:
                fired = True
                await asyncio.to_thread(fault)
            body = {"channel": "hotline", "external_id": f"fault-{uuid.uuid4()}",
                    "content": "路灯坏了", "grid_code": grids[n]}
            submitted.append(asyncio.create_task(
                _submit_until_accepted(client, stack, body, accepted)))
            n += 1
            await asyncio.sleep(1 / RATE)
        await asyncio.gather(*submitted)
    return n


async def _settled_counts(stack: Stack, expected: int) -> tuple[int, int, int]:
    """Wait until analytics stops changing (or has everything); return its counts."""
    conn = await asyncpg.connect(stack.postgres.dsn())
    try:
        last, stable_since = None, time.monotonic()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with contextlib.suppress(asyncpg.PostgresError, OSError):
                row = await conn.fetchrow(
                    "SELECT count(*) FILTER (WHERE received_at IS NOT NULL) AS received,"
                    " count(*) FILTER (WHERE assigned_at IS NOT NULL) AS assigned,"
                    " count(*) AS rows FROM analytics.case_facts")
                current = (row["received"], row["assigned"], row["rows"]) if row else None
                if current == (expected, expected, expected):
                    return current
                if current != last:
                    last, stable_since = current, time.monotonic()
                elif time.monotonic() - stable_since > 120 and current is not None:
                    return current
            await asyncio.sleep(0.5)
        assert last is not None
        return last
    finally:
        await conn.close()


def _restart_service(stack: Stack, name: str) -> Callable[[], None]:
    def fault() -> None:
        service = stack.services[name]
        service.kill()
        time.sleep(1.0)
        service.start()
        service.wait_ready(120)
    return fault


def _restart_postgres(stack: Stack) -> Callable[[], None]:
    def fault() -> None:
        stack.postgres.kill()
        time.sleep(1.0)
        stack.postgres.start()
    return fault


def _restart_broker(stack: Stack) -> Callable[[], None]:
    def fault() -> None:
        stack.broker.kill()
        time.sleep(1.0)
        stack.broker.start()
    return fault


FAULTS: dict[str, Callable[[Stack], Callable[[], None]]] = {
    "kill -9 intake": lambda s: _restart_service(s, "intake"),
    "kill -9 dispatch": lambda s: _restart_service(s, "dispatch"),
    "kill -9 analytics": lambda s: _restart_service(s, "analytics"),
    "kill -9 PostgreSQL": _restart_postgres,
    "kill -9 broker (memory lost)": _restart_broker,
}


@pytest.mark.parametrize("fault_name", list(FAULTS))
async def test_every_accepted_appeal_counted_exactly_once(fault_stack: Stack,
                                                          fault_name: str) -> None:
    stack = fault_stack
    accepted: dict[str, str] = {}
    submitted = await _load(stack, accepted, FAULTS[fault_name](stack))
    received, assigned, rows = await _settled_counts(stack, len(accepted))

    conn = await asyncpg.connect(stack.postgres.dsn())
    try:
        appeals = await conn.fetchval("SELECT count(*) FROM intake.appeals")
        twice = await conn.fetchval(
            "SELECT count(*) FROM (SELECT appeal_id FROM dispatch.cases GROUP BY appeal_id "
            "HAVING count(*) > 1) d")
        cases = await conn.fetchval("SELECT count(*) FROM dispatch.cases")
    finally:
        await conn.close()
    lost = len(accepted) - assigned
    counted_twice = max(0, rows - len(accepted)) + twice
    print(f"\n[{fault_name}] submitted {submitted}, accepted {len(accepted)}, stored {appeals}, "
          f"cases {cases}, analytics received {received} assigned {assigned}: "
          f"lost {lost}, counted twice {counted_twice}")
    assert len(accepted) == submitted
    assert appeals == len(accepted), "intake stored an appeal that was never acknowledged"
    assert cases == len(accepted) and twice == 0
    assert (received, assigned, rows) == (len(accepted),) * 3
