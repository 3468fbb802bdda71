"""The city screen's document asks the indicators without the median (the screen shows
none, and at 10 M cases the medians were most of the screen's query time)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from civicgrid_analytics.bootstrap import AnalyticsSettings, view_settings
from civicgrid_analytics.service_layer import views
from civicgrid_analytics.service_layer.unit_of_work import AnalyticsUnitOfWork


class _Facts:
    def __init__(self) -> None:
        self.asked: list[tuple[str | None, bool]] = []

    async def indicators(self, q: Any, path: Any, median: bool,
                         counts: frozenset[str] | None = None) -> tuple[list[Any], str]:
        self.asked.append((q.group_by.value if q.group_by else None, median))
        return [], "rollups"

    async def daily_trend(self, *_: Any) -> list[Any]:
        return []

    async def overdue_list(self, *_: Any) -> list[Any]:
        return []


class _Surges:
    async def list(self, *_: Any) -> list[Any]:
        return []


class _Uow:
    def __init__(self) -> None:
        self.facts, self.surges = _Facts(), _Surges()


async def test_the_dashboard_asks_every_indicator_query_without_the_median() -> None:
    uow = _Uow()
    await views.dashboard(cast(AnalyticsUnitOfWork, uow), datetime(2026, 11, 26, tzinfo=UTC),
                          view_settings(AnalyticsSettings()))
    assert sorted(uow.facts.asked, key=str) == sorted(
        [(None, False), ("county_code", False), ("township_code", False),
         ("matter_code", False), ("unit_id", False)], key=str)
