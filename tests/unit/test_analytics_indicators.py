"""Indicator definitions, windows and the assessment ranking (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from civicgrid_analytics.adapters.indicator_sql import PREDICATES, IndicatorQuery
from civicgrid_analytics.domain.indicators import (
    COUNT_FIELDS,
    Dimension,
    IndicatorSettings,
    finish,
    rate,
)
from civicgrid_analytics.domain.ranking import ScoreWeights, rank, score
from civicgrid_analytics.domain.windows import Window, bounds


def test_rates_are_fractions_or_none() -> None:
    assert rate(0, 0) is None
    assert rate(3, 4) == 0.75
    with pytest.raises(ValueError, match="cohort"):
        rate(5, 4)


def test_finish_derives_every_rate_from_its_cohort() -> None:
    raw = {n: 0 for n in COUNT_FIELDS} | {
        "received": 10, "received_registered": 8, "registered": 8, "accepted_disposed": 6,
        "called_back": 4, "solved": 3, "satisfied": 1, "basically_satisfied": 2,
        "closed": 5, "closed_reworked": 1, "median_handling_hours": 12.5,
    }
    out = finish(raw)
    assert out["registration_rate"] == 0.8 and out["accepted"] == 8
    assert out["disposal_rate"] == 0.75
    assert out["resolution_rate"] == 0.75
    assert out["satisfaction_rate"] == 0.75  # basically satisfied counts by default
    assert finish(raw, IndicatorSettings(basically_satisfied_counts=False))[
        "satisfaction_rate"] == 0.25
    assert out["rework_rate"] == 0.2
    assert out["response_rate"] is None and out["on_time_closing_rate"] is None
    assert out["median_handling_hours"] == 12.5


def test_windows_are_city_local_days() -> None:
    now = datetime(2025, 3, 3, 17, 0, tzinfo=UTC)  # 01:00 on 4 March in the city
    start, end = bounds(Window.TODAY, now)
    assert start == datetime(2025, 3, 3, 16, 0, tzinfo=UTC)
    assert end == datetime(2025, 3, 4, 16, 0, tzinfo=UTC)
    start7, _ = bounds(Window.D7, now)
    assert start7 == datetime(2025, 2, 25, 16, 0, tzinfo=UTC)
    ytd, _ = bounds(Window.YTD, now)
    assert ytd == datetime(2024, 12, 31, 16, 0, tzinfo=UTC)


def test_the_query_groups_with_a_total_and_never_interpolates_values() -> None:
    q = IndicatorQuery(None, None, datetime.now(UTC), Dimension.UNIT,
                       {Dimension.COUNTY: "140502'; DROP TABLE x; --"})
    sql, params = q.sql()
    assert "GROUPING SETS ((unit_id), ())" in sql
    assert "DROP TABLE" not in sql and params[-1].startswith("140502'")
    assert set(PREDICATES) == set(COUNT_FIELDS)


def _row(key: str, response: float | None, resolution: float | None,
         satisfaction: float | None, on_time: float | None, cases: int) -> dict[str, object]:
    return {"key": key, "response_rate": response, "resolution_rate": resolution,
            "satisfaction_rate": satisfaction, "on_time_disposal_rate": on_time,
            "assigned": cases}


def test_score_is_a_weighted_mean_of_the_defined_rates() -> None:
    w = ScoreWeights(response=1, resolution=1, satisfaction=1, on_time=1)
    assert score(_row("a", 1.0, 0.5, None, None, 9), w) == 75.0
    assert score(_row("a", None, None, None, None, 9), w) is None
    assert score(_row("a", 1.0, 0.0, 0.0, 0.0, 9), ScoreWeights()) == 20.0


def test_ranking_orders_by_score_then_cases_and_shares_ranks() -> None:
    rows = [
        _row("unit-b", 1.0, 1.0, 1.0, 1.0, 10),
        _row("unit-a", 1.0, 1.0, 1.0, 1.0, 10),
        _row("unit-c", 1.0, 1.0, 1.0, 1.0, 30),
        _row("unit-d", 0.5, 0.5, 0.5, 0.5, 50),
        _row("unit-small", 1.0, 1.0, 1.0, 1.0, 2),
        _row("unit-unrated", None, None, None, None, 50),
    ]
    ranked, unranked = rank(rows, ScoreWeights(), min_cases=5)
    assert [(r.rank, r.key) for r in ranked] == [
        (1, "unit-c"), (1, "unit-a"), (1, "unit-b"), (4, "unit-d")]
    assert unranked == ["unit-small", "unit-unrated"]
