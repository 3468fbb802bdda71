"""Analytics on the real broker and PostgreSQL: the whole case life cycle, rankings,
hotspots, gauges and rebuild. Dispatch does not emit most life-cycle events yet, so the
tests publish them as dispatch will (contracts in shared/contracts/events.py), under
matter codes of their own so that nothing else is counted with them."""

from __future__ import annotations

import json
import random
import statistics
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from civicgrid_analytics.contracts import HOTSPOTS
from civicgrid_shared.contracts.envelope import OutgoingEvent
from civicgrid_shared.contracts.events import (
    AppealReceived,
    CaseAssigned,
    CaseCalledBack,
    CaseClosed,
    CaseOverdue,
    CaseRegistered,
    CaseReopened,
    CaseResolved,
    CaseSignedFor,
    Channel,
    DeadlineKind,
    Satisfaction,
    TerritoryRef,
)
from civicgrid_shared.contracts.topics import APPEALS, CASES
from civicgrid_shared.reference.loader import load_territory
from civicgrid_stack.stack import Stack

from tests.integration.analytics_helpers import event, publish, run_module
from tests.integration.helpers import read_topic, url, wait_for

pytestmark = pytest.mark.integration

T0 = datetime(2025, 1, 6, 1, 0, tzinfo=UTC)  # 09:00 on a Monday in the city


def h(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def _territory() -> TerritoryRef:
    grid = random.choice(load_territory().grids)
    path = load_territory().path(grid.code)
    return TerritoryRef(county_code=path.county_code, township_code=path.township_code,
                        community_code=path.community_code, grid_code=grid.code)


class Case:
    """One appeal's events, as intake and dispatch publish them."""

    def __init__(self, matter: str, territory: TerritoryRef, received: datetime,
                 worker: str | None = None) -> None:
        self.appeal_id, self.case_id = uuid.uuid4(), uuid.uuid4()
        self.matter, self.territory, self.received = matter, territory, received
        self.events: list[OutgoingEvent] = [event(AppealReceived(
            appeal_id=self.appeal_id, tracking_code="TESTANALYT", channel=Channel.GRID_APP,
            received_at=received, content="测试", territory=territory,
            grid_worker_id=worker, matter_code=matter,
        ), APPEALS.name, str(self.appeal_id))] if worker else []

    def _case(self, payload: Any) -> Case:
        self.events.append(event(payload, CASES.name, str(self.case_id)))
        return self

    def registered(self) -> Case:
        return self._case(CaseRegistered(
            case_id=self.case_id, appeal_id=self.appeal_id, case_number="T-1",
            channel=Channel.GRID_APP, matter_code=self.matter, category_code="TT",
            priority="normal", territory=self.territory, received_at=self.received,
            registered_at=self.received + timedelta(minutes=5)))

    def assigned(self, unit: str, resolve_due: datetime) -> Case:
        return self._case(CaseAssigned(
            case_id=self.case_id, appeal_id=self.appeal_id, unit_id=unit, tier="township",
            sign_for_due=self.received + timedelta(hours=2), resolve_due=resolve_due,
            assigned_at=self.received + timedelta(minutes=6)))

    def signed(self, at: datetime, on_time: bool) -> Case:
        return self._case(CaseSignedFor(case_id=self.case_id, appeal_id=self.appeal_id,
                                        unit_id="u", signed_at=at, on_time=on_time))

    def resolved(self, at: datetime, on_time: bool) -> Case:
        return self._case(CaseResolved(case_id=self.case_id, appeal_id=self.appeal_id,
                                       unit_id="u", result="done", on_time=on_time,
                                       resolved_at=at))

    def called_back(self, at: datetime, solved: bool, satisfaction: Satisfaction) -> Case:
        return self._case(CaseCalledBack(case_id=self.case_id, appeal_id=self.appeal_id,
                                         unit_id="u", solved=solved,
                                         satisfaction=satisfaction, called_back_at=at))

    def reopened(self, at: datetime, count: int) -> Case:
        return self._case(CaseReopened(case_id=self.case_id, appeal_id=self.appeal_id,
                                       unit_id="u", reopen_count=count, reason="不满意",
                                       reopened_at=at))

    def closed(self, at: datetime, on_time: bool) -> Case:
        return self._case(CaseClosed(case_id=self.case_id, appeal_id=self.appeal_id,
                                     unit_id="u", on_time=on_time, closed_at=at))

    def overdue(self, due: datetime) -> Case:
        return self._case(CaseOverdue(case_id=self.case_id, appeal_id=self.appeal_id,
                                      unit_id="u", deadline=DeadlineKind.RESOLVE, due=due,
                                      overdue_at=due))


async def get(client: httpx.AsyncClient, stack: Stack, path: str, **params: Any
              ) -> dict[str, Any]:
    r = await client.get(url(stack, "analytics", path), params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _scenario(matter: str) -> list[Case]:
    t = _territory()
    good = (Case(matter, t, h(0)).registered()
            .assigned("unit-a", h(48)).signed(h(1), True).resolved(h(10), True)
            .called_back(h(12), True, Satisfaction.SATISFIED).closed(h(13), True))
    reworked = (Case(matter, t, h(1)).registered()
                .assigned("unit-b", h(48)).signed(h(5), False).resolved(h(20), True)
                .called_back(h(21), False, Satisfaction.NOT_SATISFIED).reopened(h(22), 1)
                .resolved(h(61), False)
                .called_back(h(62), True, Satisfaction.BASICALLY_SATISFIED)
                .closed(h(63), False))
    stuck = (Case(matter, t, h(2)).registered().assigned("unit-a", h(50))
             .signed(h(3), True).overdue(h(50)))
    return [good, reworked, stuck]


async def test_the_whole_life_cycle_in_any_order_counted_once(stack: Stack) -> None:
    matter = f"T-{uuid.uuid4().hex[:8]}"
    cases = _scenario(matter)
    events = [e for c in cases for e in c.events]
    # Any order across topics and cases, every event delivered twice (same id), and the
    # reopen published again as a new event (a repeat emission): counts stay right.
    reopen = next(e for e in cases[1].events if e.event_type.endswith("reopened"))
    again = event(CaseReopened.model_validate_json(reopen.value), CASES.name, reopen.key)
    mixed = events + events + [again]
    random.Random(6).shuffle(mixed)
    await publish(stack, mixed)

    async with httpx.AsyncClient(timeout=10) as client:
        async def settled() -> dict[str, Any] | None:
            data = await get(client, stack, "/v1/indicators", matter_code=matter,
                             group_by="unit_id", **{"from": h(-1).isoformat(),
                                                    "to": h(24 * 7).isoformat()})
            t = data["total"]
            done = t["closed"] == 2 and t["called_back"] == 2 and t["overdue_open"] == 1 \
                and t["disposed"] == 2 and t["reopened"] == 1
            return data if done else None

        data = await wait_for(settled, timeout=60, what="the life cycle to be counted")
    t = data["total"]
    assert (t["received"], t["accepted"], t["assigned"], t["disposed"]) == (3, 3, 3, 2)
    assert t["registration_rate"] == 1.0
    assert t["disposal_rate"] == pytest.approx(2 / 3)
    assert t["response_rate"] == pytest.approx(2 / 3)  # one sign-for was late
    assert (t["closed"], t["closed_on_time"], t["due"]) == (2, 1, 3)
    assert t["closing_rate"] == pytest.approx(2 / 3)
    assert t["on_time_closing_rate"] == pytest.approx(1 / 3)
    assert t["resolution_rate"] == 1.0  # the latest answers: both solved
    assert t["satisfaction_rate"] == 1.0  # satisfied + basically satisfied
    assert t["rework_rate"] == 0.5
    assert t["overdue_open"] == 1 and t["open"] == 1
    assert t["median_handling_hours"] == pytest.approx(statistics.median([10, 60]))
    rows = {r["key"]: r for r in data["rows"]}
    assert set(rows) == {"unit-a", "unit-b"}
    assert rows["unit-a"]["assigned"] == 2 and rows["unit-a"]["overdue_open"] == 1
    assert rows["unit-b"]["rework_rate"] == 1.0

    async with httpx.AsyncClient(timeout=10) as client:
        # each moment in its own window: only the first day
        day1 = await get(client, stack, "/v1/indicators", matter_code=matter,
                         **{"from": h(-1).isoformat(), "to": h(15).isoformat()})
        assert day1["total"]["received"] == 3 and day1["total"]["closed"] == 1
        ranking = await get(client, stack, "/v1/rankings/units", matter_code=matter,
                            min_cases=1, **{"from": h(-1).isoformat(),
                                            "to": h(24 * 7).isoformat()})
        assert [r["key"] for r in ranking["rows"]] == ["unit-a", "unit-b"]
        assert ranking["rows"][0]["rank"] == 1 and ranking["rows"][0]["score"] > \
            ranking["rows"][1]["score"]
        strict = await get(client, stack, "/v1/rankings/units", matter_code=matter,
                           min_cases=2, window="ytd")
        assert strict["rows"] == [] or all(r["cases"] >= 2 for r in strict["rows"])
        bad = await client.get(url(stack, "analytics", "/v1/indicators"),
                               params={"window": "7d", "from": h(0).isoformat()})
        assert bad.status_code == 422


async def test_grid_worker_reports_are_counted_for_the_worker(stack: Stack) -> None:
    """A grid worker's report goes the real way: dispatch registers and assigns it."""
    worker = f"gw-{uuid.uuid4().hex[:8]}"
    reports = [Case("unused", _territory(), h(0) + timedelta(minutes=i), worker=worker)
               for i in range(2)]
    await publish(stack, [e for c in reports for e in c.events])
    async with httpx.AsyncClient(timeout=10) as client:
        async def counted() -> dict[str, Any] | None:
            t = (await get(client, stack, "/v1/indicators", grid_worker_id=worker))["total"]
            return t if t["received"] == 2 and t["assigned"] == 2 else None

        total = await wait_for(counted, what="dispatch to register the worker's reports")
    assert total["registered"] == 2 and total["registration_rate"] == 1.0


async def test_a_surge_is_one_hotspot_event_per_township_matter_and_day(stack: Stack) -> None:
    matter = f"H-{uuid.uuid4().hex[:8]}"
    t = _territory()
    burst = [Case(matter, t, h(30) + timedelta(minutes=7 * i)).registered() for i in range(6)]
    await publish(stack, [e for c in burst for e in c.events])
    key = f"{t.township_code}:{matter}"
    async with httpx.AsyncClient(timeout=10) as client:
        async def found() -> list[dict[str, Any]] | None:
            rows = (await get(client, stack, "/v1/hotspots",
                              township_code=t.township_code or ""))["rows"]
            mine = [r for r in rows if r["matter_code"] == matter]
            return mine or None

        [spot] = await wait_for(found, what="the hotspot")
        assert spot["cases_24h"] >= 5 and spot["day"] == "2025-01-07"
        record = await read_topic(stack, HOTSPOTS.name, lambda r: r.key == key.encode())
        body = json.loads(record.value)
        assert body["matter_code"] == matter and body["township_code"] == t.township_code
        assert dict(record.headers)["ce_type"] == b"civicgrid.analytics.hotspot_detected"

        # More cases the same day: still one hotspot.
        more = [Case(matter, t, h(31) + timedelta(minutes=i)).registered() for i in range(3)]
        await publish(stack, [e for c in more for e in c.events])

        async def counted() -> bool | None:
            total = (await get(client, stack, "/v1/indicators", matter_code=matter))["total"]
            return True if total["registered"] == 9 else None

        await wait_for(counted, what="the later cases")
        rows = (await get(client, stack, "/v1/hotspots",
                          township_code=t.township_code or ""))["rows"]
        assert len([r for r in rows if r["matter_code"] == matter]) == 1


async def test_domain_gauges_are_exported_with_bounded_labels(stack: Stack) -> None:
    matter = f"G-{uuid.uuid4().hex[:8]}"
    await publish(stack, [e for c in _scenario(matter) for e in c.events])
    async with httpx.AsyncClient(timeout=10) as client:
        async def exported() -> str | None:
            # Judge and assert on one scrape: a refresh between two scrapes can differ.
            text = (await client.get(url(stack, "analytics", "/metrics"))).text
            overdue = [line for line in text.splitlines()
                       if line.startswith('civicgrid_analytics_overdue_cases{tier="township"}')]
            ok = bool(overdue) and float(overdue[0].rsplit(" ", 1)[1]) >= 1 \
                and 'civicgrid_analytics_open_cases{tier="township"}' in text
            return text if ok else None

        text = await wait_for(exported, timeout=60, what="the gauges to be refreshed")
    assert 'civicgrid_analytics_open_cases{tier="township"}' in text
    assert "civicgrid_analytics_gauges_refreshed_timestamp_seconds" in text
    assert "civicgrid_consumer_lag_records{" in text
    assert 'civicgrid_analytics_county_rate_ratio{county_code="' in text
    assert matter not in text and "gw-" not in text  # no unbounded labels


async def test_rebuild_from_the_history_gives_identical_figures(stack: Stack) -> None:
    matter = f"R-{uuid.uuid4().hex[:8]}"
    await publish(stack, [e for c in _scenario(matter) for e in c.events])
    result = run_module(stack, "civicgrid_analytics.rebuild", "--wait", "90", "--drop")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["equal"] is True and report["differences"] == []
    assert report["rollups_differ_from_facts"] == []  # rebuilt rollups = rebuilt facts
    assert report["records_replayed"] > 0
    assert report["indicators"]["received"] >= 3
