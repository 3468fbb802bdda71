"""Analytics' composition root."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from civicgrid_shared.contracts.topics import APPEALS, CASES, ENFORCEMENT
from civicgrid_shared.settings import ServiceSettings
from civicgrid_shared.web.app import create_app
from fastapi import FastAPI

from civicgrid_analytics.adapters.reference import ReferenceNames
from civicgrid_analytics.contracts import TOPICS
from civicgrid_analytics.domain.hotspots import SurgeRule
from civicgrid_analytics.domain.indicators import IndicatorSettings
from civicgrid_analytics.domain.ranking import ScoreWeights
from civicgrid_analytics.domain.windows import CITY_TZ, Window
from civicgrid_analytics.entrypoints.http import build_router
from civicgrid_analytics.runtime import AnalyticsRuntime
from civicgrid_analytics.service_layer import enforcement
from civicgrid_analytics.service_layer.handlers import AnalyticsHandlers
from civicgrid_analytics.service_layer.hotspots import HotspotDetector
from civicgrid_analytics.service_layer.live import GaugeRefresher, LiveFeed
from civicgrid_analytics.service_layer.projection import FactProjection
from civicgrid_analytics.service_layer.unit_of_work import AnalyticsUnitOfWork
from civicgrid_analytics.service_layer.views import ViewSettings

SERVICE = "analytics"
CONSUMER = "analytics"
ENFORCEMENT_CONSUMER = "analytics-enforcement"
SOURCE = "/civicgrid/analytics"
MIGRATIONS = Path(__file__).parent / "migrations"
#: where `npm ci --prefix services/analytics` puts Apache ECharts
DEFAULT_ECHARTS = Path(__file__).resolve().parents[2] / "node_modules" / "echarts" / "dist" \
    / "echarts.min.js"


class AnalyticsSettings(ServiceSettings):
    http_port: int = 8004
    city_tz: str = CITY_TZ
    # 满意率 counts "basically satisfied" as satisfied
    satisfaction_includes_basic: bool = True
    # hotspots (未诉先办)
    hotspot_factor: float = 3.0
    hotspot_min_cases: int = 5
    hotspot_window_hours: int = 24
    hotspot_baseline_days: int = 7
    # assessment score weights and the minimum number of cases to be ranked
    rank_weight_response: float = 0.2
    rank_weight_resolution: float = 0.3
    rank_weight_satisfaction: float = 0.3
    rank_weight_on_time: float = 0.2
    rank_min_cases: int = 5
    # live figures
    metrics_refresh_s: float = 15.0
    metrics_window: Window = Window.D30
    stream_interval_s: float = 2.0
    echarts_path: Path = DEFAULT_ECHARTS
    # consumed batches folded into the facts and indicators in one transaction, at most
    fold_max_batches: int = 50


def surge_rule(s: AnalyticsSettings) -> SurgeRule:
    return SurgeRule(factor=s.hotspot_factor, min_cases=s.hotspot_min_cases,
                     window_hours=s.hotspot_window_hours,
                     baseline_days=s.hotspot_baseline_days, tz=s.city_tz)


def view_settings(s: AnalyticsSettings) -> ViewSettings:
    return ViewSettings(
        indicators=IndicatorSettings(basically_satisfied_counts=s.satisfaction_includes_basic),
        weights=ScoreWeights(response=s.rank_weight_response,
                             resolution=s.rank_weight_resolution,
                             satisfaction=s.rank_weight_satisfaction,
                             on_time=s.rank_weight_on_time),
        min_cases=s.rank_min_cases, tz=s.city_tz, surge=surge_rule(s),
    )


def handlers(s: AnalyticsSettings) -> AnalyticsHandlers:
    return AnalyticsHandlers(HotspotDetector(surge_rule(s)))


def bootstrap(settings: AnalyticsSettings | None = None) -> tuple[FastAPI, AnalyticsRuntime]:
    settings = settings or AnalyticsSettings()
    runtime = AnalyticsRuntime(SERVICE, SERVICE, settings, MIGRATIONS, topics=TOPICS)

    def make_uow() -> AnalyticsUnitOfWork:
        return AnalyticsUnitOfWork(runtime.db, SERVICE, source=SOURCE,
                                   journal_appended=projection.wake)

    projection = FactProjection(make_uow, max_rows=settings.fold_max_batches)
    runtime.project_with(projection)
    runtime.add_consumer(
        CONSUMER, [APPEALS, CASES], dict(handlers(settings).routes()), make_uow,
        description="Every appeal and case event, turned into the city's indicators.",
        pace="bulk",
    )
    runtime.add_consumer(
        ENFORCEMENT_CONSUMER, [ENFORCEMENT], dict(enforcement.routes()), make_uow,
        description="Enforcement's cases, decisions, disclosures and joint inspections, "
                    "turned into the enforcement indicators.",
        pace="bulk",
    )
    cfg = view_settings(settings)
    gauges = GaugeRefresher(make_uow, cfg, settings.metrics_refresh_s, settings.metrics_window)
    feed = LiveFeed(make_uow, cfg, settings.stream_interval_s, ReferenceNames())
    app = create_app(runtime, title="civicgrid analytics",
                     description="Live indicators of the whole city (一屏观全城).")
    app.include_router(build_router(make_uow, cfg, feed, settings.echarts_path))

    # The background loops live as long as the runtime (started and stopped around it).
    runtime_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        async with runtime_lifespan(a):
            tasks = [asyncio.create_task(gauges.run(), name="analytics-gauges"),
                     asyncio.create_task(feed.run(), name="analytics-live-feed")]
            try:
                yield
            finally:
                for t in tasks:
                    t.cancel()
                for t in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await t

    app.router.lifespan_context = lifespan
    return app, runtime
