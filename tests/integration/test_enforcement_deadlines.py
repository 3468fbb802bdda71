"""The periodic deadline check (service_layer/monitor.py) on the stack's real PostgreSQL
and broker: an overdue disclosure is flagged once, a case near the 90-day limit is
warned once, a case past it is flagged once, and the counters and gauges follow.

The test calls check_deadlines itself, with a unit of work on the stack's database and
its own clock, rather than waiting for the service's own round (every 60 s). Its rows
are set to fall due a few minutes ahead of the real clock, so the service's round can
never take them first; its events still leave through the service's outbox relay.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
import pytest_asyncio
from civicgrid_enforcement.domain import events as ev
from civicgrid_enforcement.domain.calendar import end_of_working_days
from civicgrid_enforcement.domain.discretion import Policy
from civicgrid_enforcement.service_layer.monitor import CheckResult, check_deadlines
from civicgrid_enforcement.service_layer.unit_of_work import EnforcementUnitOfWork
from civicgrid_shared.contracts.topics import ENFORCEMENT
from civicgrid_shared.db.pool import create_pool
from civicgrid_stack.stack import Stack
from prometheus_client import REGISTRY

from tests.integration.enforcement_helpers import (
    PARTY,
    decoded,
    event_type,
    patrol_lead,
    post,
    random_place,
    records_with_keys,
)
from tests.integration.helpers import wait_for

pytestmark = pytest.mark.integration

POLICY = Policy()  # the service's defaults: 7 working days, warned at 75 days, limit 90
WARNING_ON_THE_SPOT = {"officer_id": "ZF-0001", "kind": "penalty", "procedure": "simple",
                       "severity": "minor", "measures": ["warning"],
                       "reason": "占道经营，当场警告", "delivered_on_the_spot": True}
COUNTERS = {
    "disclosures_flagged": "civicgrid_enforcement_disclosures_flagged_overdue_total",
    "cases_warned": "civicgrid_enforcement_decision_deadline_warnings_total",
    "cases_flagged": "civicgrid_enforcement_decision_overdue_flagged_total",
}
GAUGES = {
    "cases_overdue": "civicgrid_enforcement_cases_overdue",
    "disclosures_overdue": "civicgrid_enforcement_disclosures_overdue",
}
MONITOR_EVENTS = (ev.DisclosureOverdue, ev.DecisionDeadlineWarning, ev.DecisionOverdue)


@pytest_asyncio.fixture(loop_scope="session")
async def make_uow(stack: Stack) -> AsyncIterator[Callable[[], EnforcementUnitOfWork]]:
    """Units of work on the stack's enforcement schema, as bootstrap builds them."""
    pool = await create_pool(stack.postgres.dsn(), "enforcement", min_size=1, max_size=2)
    try:
        yield lambda: EnforcementUnitOfWork(pool, "enforcement",
                                            source="/civicgrid/enforcement")
    finally:
        await pool.close()


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def emitted(conn: asyncpg.Connection, case_ids: list[str]) -> Counter[tuple[str, str]]:
    """(case id, event type) of the monitor's events in enforcement's outbox."""
    rows = await conn.fetch(
        "SELECT key, event_type FROM enforcement.outbox WHERE key = ANY($1::text[]) "
        "AND event_type = ANY($2::text[])",
        case_ids, [e.event_type for e in MONITOR_EVENTS])
    return Counter((r["key"], r["event_type"]) for r in rows)


async def test_overdue_disclosure_and_the_90_day_limit_are_flagged_once(
    stack: Stack, make_uow: Callable[[], EnforcementUnitOfWork],
) -> None:
    place = random_place()
    async with httpx.AsyncClient(timeout=15) as client:
        # Decided, not disclosed yet.
        undisclosed = await patrol_lead(client, stack, place)
        await post(client, stack, place, f"/cases/{undisclosed}/file",
                   {"officer_id": "ZF-0001", "party": PARTY})
        await post(client, stack, place, f"/cases/{undisclosed}/decision", WARNING_ON_THE_SPOT)
        # Filed, no decision: one near the limit, one past it, one fresh.
        near, past, fresh = [await patrol_lead(client, stack, place) for _ in range(3)]
        for case_id in (near, past, fresh):
            await post(client, stack, place, f"/cases/{case_id}/file",
                       {"officer_id": "ZF-0001", "party": PARTY})
    mine = [undisclosed, near, past, fresh]

    # The check's clock: ten minutes ahead. Every row below falls due five minutes before
    # it, i.e. still ahead of the real clock, where the service's own round looks.
    at = datetime.now(UTC) + timedelta(minutes=10)
    due = at - timedelta(minutes=5)
    conn = await asyncpg.connect(stack.postgres.dsn())
    try:
        scheduled = await conn.fetchrow(
            "SELECT decided_at, due FROM enforcement.disclosures WHERE case_id = $1",
            uuid.UUID(undisclosed))
        assert scheduled is not None
        assert scheduled["due"] == end_of_working_days(scheduled["decided_at"], 7)
        await conn.execute("UPDATE enforcement.disclosures SET due = $2 WHERE case_id = $1",
                           uuid.UUID(undisclosed), due)
        # Near: filed 75 days before the check's clock, less five minutes.
        near_filed = due - timedelta(days=POLICY.decision_warn_days)
        # Past: its 90 days ran out five minutes before the check's clock; it was warned
        # at day 75, as the service's round would have done.
        past_filed = due - timedelta(days=POLICY.decision_limit_days)
        for case_id, filed, warned in (
                (near, near_filed, None),
                (past, past_filed, past_filed + timedelta(days=POLICY.decision_warn_days))):
            await conn.execute(
                "UPDATE enforcement.cases SET filed_at = $2, decision_due = $3, "
                "decision_warned_at = $4 WHERE case_id = $1",
                uuid.UUID(case_id), filed,
                filed + timedelta(days=POLICY.decision_limit_days), warned)

        # Now: nothing of ours is due yet (this round also takes whatever else is due, as
        # the service's round would, so that the next one sees only our rows cross).
        before = await check_deadlines(make_uow(), POLICY, datetime.now(UTC))
        assert not await emitted(conn, mine)
        counted = {k: sample(v) for k, v in COUNTERS.items()}
        assert sample(GAUGES["cases_overdue"]) == before.cases_overdue
        assert sample(GAUGES["disclosures_overdue"]) == before.disclosures_overdue

        # Past the due times: each flagged, once; the gauges count one more each.
        result = await check_deadlines(make_uow(), POLICY, at)
        assert result == CheckResult(
            disclosures_flagged=1, cases_warned=1, cases_flagged=1,
            cases_overdue=before.cases_overdue + 1,
            disclosures_overdue=before.disclosures_overdue + 1)
        expected = Counter({(undisclosed, ev.DisclosureOverdue.event_type): 1,
                            (near, ev.DecisionDeadlineWarning.event_type): 1,
                            (past, ev.DecisionOverdue.event_type): 1})
        assert await emitted(conn, mine) == expected
        for key, name in COUNTERS.items():
            assert sample(name) == counted[key] + 1, name
        assert sample(GAUGES["cases_overdue"]) == result.cases_overdue
        assert sample(GAUGES["disclosures_overdue"]) == result.disclosures_overdue
        flags = await conn.fetchrow(
            "SELECT overdue_flagged_at FROM enforcement.disclosures WHERE case_id = $1",
            uuid.UUID(undisclosed))
        assert flags is not None and flags["overdue_flagged_at"] == at
        marks = {str(r["case_id"]): (r["decision_warned_at"], r["decision_overdue_at"])
                 for r in await conn.fetch(
                     "SELECT case_id, decision_warned_at, decision_overdue_at "
                     "FROM enforcement.cases WHERE case_id = ANY($1::uuid[])",
                     [uuid.UUID(c) for c in (near, past, fresh)])}
        assert marks[near] == (at, None)
        assert marks[past] == (past_filed + timedelta(days=POLICY.decision_warn_days), at)
        assert marks[fresh] == (None, None)

        # A later round: nothing new, the gauges still count them.
        again = await check_deadlines(make_uow(), POLICY, at + timedelta(minutes=1))
        assert again == CheckResult(0, 0, 0, result.cases_overdue,
                                    result.disclosures_overdue)
        assert await emitted(conn, mine) == expected
        for key, name in COUNTERS.items():
            assert sample(name) == counted[key] + 1, name

        # On the topic, through the service's relay: each event exactly once.
        async def relayed() -> bool | None:
            left = await conn.fetchval(
                "SELECT count(*) FROM enforcement.outbox WHERE key = ANY($1::text[]) "
                "AND published_at IS NULL", mine)
            return True if left == 0 else None

        await wait_for(relayed, what="the relay to publish the monitor's events")
    finally:
        await conn.close()
    records = [r for r in await records_with_keys(stack, ENFORCEMENT.name, set(mine))
               if event_type(r) in {e.event_type for e in MONITOR_EVENTS}]
    assert Counter((r.key.decode(), event_type(r)) for r in records) == expected
    by_type = {event_type(r): decoded(r) for r in records}
    disclosure = by_type[ev.DisclosureOverdue.event_type].payload(ev.DisclosureOverdue)
    assert disclosure.due == due and disclosure.flagged_at == at
    assert disclosure.team_unit_id == place.team_id
    warning = by_type[ev.DecisionDeadlineWarning.event_type].payload(
        ev.DecisionDeadlineWarning)
    assert warning.filed_at == near_filed and warning.warned_at == at
    assert warning.decision_due == near_filed + timedelta(days=POLICY.decision_limit_days)
    overdue = by_type[ev.DecisionOverdue.event_type].payload(ev.DecisionOverdue)
    assert overdue.decision_due == due and overdue.flagged_at == at
