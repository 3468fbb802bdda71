"""Analytics' composition root."""

from __future__ import annotations

from pathlib import Path

from civicgrid_shared.contracts.topics import APPEALS, CASES
from civicgrid_shared.runtime import ServiceRuntime
from civicgrid_shared.settings import ServiceSettings
from civicgrid_shared.web.app import create_app
from fastapi import FastAPI

from civicgrid_analytics.entrypoints.http import build_router
from civicgrid_analytics.service_layer.handlers import ROUTES
from civicgrid_analytics.service_layer.unit_of_work import AnalyticsUnitOfWork

SERVICE = "analytics"
MIGRATIONS = Path(__file__).parent / "migrations"


class AnalyticsSettings(ServiceSettings):
    http_port: int = 8004


def bootstrap(settings: AnalyticsSettings | None = None) -> tuple[FastAPI, ServiceRuntime]:
    settings = settings or AnalyticsSettings()
    runtime = ServiceRuntime(SERVICE, SERVICE, settings, MIGRATIONS)

    def make_uow() -> AnalyticsUnitOfWork:
        return AnalyticsUnitOfWork(runtime.db, SERVICE, source="/civicgrid/analytics")

    runtime.add_consumer(
        "analytics", [APPEALS, CASES], dict(ROUTES), make_uow,
        description="Every appeal and case event, turned into the city's indicators.",
    )
    app = create_app(runtime, title="civicgrid analytics",
                     description="Live indicators of the whole city (一屏观全城).")
    app.include_router(build_router(make_uow))
    return app, runtime
