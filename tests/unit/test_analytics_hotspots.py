"""The surge aggregator: initialize / agg / result over event-time windows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from civicgrid_analytics.domain.hotspots import (
    SurgeAggregator,
    SurgeRule,
    SurgeState,
    first_per_day,
    hour_of,
)

KEY = ("140502001", "SZ-001")
NOON = datetime(2025, 3, 3, 4, 30, tzinfo=UTC)  # 12:30 in the city (UTC+8)


def feed(agg: SurgeAggregator, state: SurgeState, times: list[datetime]) -> SurgeState:
    for t in times:
        state = agg.agg(state, t)
    return state


def test_a_burst_without_history_is_a_hotspot_from_the_kth_case() -> None:
    agg = SurgeAggregator(KEY, SurgeRule(min_cases=5))
    state = feed(agg, agg.initialize(), [NOON + timedelta(minutes=i) for i in range(4)])
    assert agg.result(state) == []
    state = agg.agg(state, NOON + timedelta(minutes=10))
    [surge] = agg.result(state)
    assert surge.cases == 5 and surge.baseline_daily == 0 and surge.ratio is None
    assert surge.day == date(2025, 3, 3)
    assert surge.detected_at == hour_of(NOON) + timedelta(hours=1)


def test_the_baseline_must_be_exceeded_threefold() -> None:
    rule = SurgeRule(factor=3.0, min_cases=5)
    agg = SurgeAggregator(KEY, rule)
    # 7 cases a day over the 7 days before the last 24 hours: baseline 7/day.
    history = [NOON - timedelta(days=d) + timedelta(hours=2) for d in range(2, 9)
               for _ in range(7)]
    base = SurgeState(counts=feed(agg, agg.initialize(), history).counts)
    twenty = feed(agg, base, [NOON - timedelta(minutes=i) for i in range(20)])
    assert agg.result(twenty) == []
    twenty_one = agg.agg(twenty, NOON)
    [surge] = agg.result(twenty_one)
    assert surge.baseline_daily == 7.0 and surge.cases == 21 and surge.ratio == 3.0


def test_old_cases_leave_the_window() -> None:
    agg = SurgeAggregator(KEY, SurgeRule(min_cases=5))
    old = feed(agg, agg.initialize(), [NOON - timedelta(hours=30)] * 4)
    state = agg.agg(SurgeState(counts=old.counts), NOON)
    assert agg.result(state) == []  # 1 case in the last 24 hours, 4 before


def test_the_day_is_the_city_day_and_one_hotspot_per_day() -> None:
    agg = SurgeAggregator(KEY, SurgeRule(min_cases=2))
    late = datetime(2025, 3, 3, 16, 10, tzinfo=UTC)  # 00:10 on 4 March in the city
    state = feed(agg, agg.initialize(), [late, late, late + timedelta(hours=1)])
    surges = agg.result(state)
    assert [s.day for s in surges] == [date(2025, 3, 4), date(2025, 3, 4)]
    assert len(first_per_day(surges)) == 1
    assert first_per_day(surges)[0].cases == 2
