"""Intake's composition root: every dependency wired explicitly, in one place."""

from __future__ import annotations

from pathlib import Path

from civicgrid_shared.runtime import ServiceRuntime
from civicgrid_shared.settings import ServiceSettings
from civicgrid_shared.web.app import create_app
from fastapi import FastAPI

from civicgrid_intake.adapters.reference import ReferenceLocator, catalog_codes
from civicgrid_intake.entrypoints.http import build_router
from civicgrid_intake.service_layer.unit_of_work import IntakeUnitOfWork

SERVICE = "intake"
MIGRATIONS = Path(__file__).parent / "migrations"


class IntakeSettings(ServiceSettings):
    http_port: int = 8001


def bootstrap(settings: IntakeSettings | None = None) -> tuple[FastAPI, ServiceRuntime]:
    settings = settings or IntakeSettings()
    runtime = ServiceRuntime(SERVICE, SERVICE, settings, MIGRATIONS)
    locator = ReferenceLocator()
    matters = catalog_codes()

    def make_uow() -> IntakeUnitOfWork:
        return IntakeUnitOfWork(runtime.db, SERVICE, source="/civicgrid/intake")

    app = create_app(
        runtime,
        title="civicgrid intake",
        description="One end receives every appeal (一端受理): hotline, grid app, web boards, "
                    "Open311. Accepted appeals are durable before the answer.",
    )
    app.include_router(build_router(make_uow, locator, matters))
    return app, runtime
