"""Dispatch's composition root."""

from __future__ import annotations

from pathlib import Path

from civicgrid_shared.contracts.events import AppealReceived
from civicgrid_shared.contracts.topics import APPEALS
from civicgrid_shared.runtime import ServiceRuntime
from civicgrid_shared.settings import ServiceSettings
from civicgrid_shared.web.app import create_app
from fastapi import FastAPI

from civicgrid_dispatch.adapters.reference import ReferenceMatters, ReferenceUnits
from civicgrid_dispatch.service_layer.handlers import Registrar
from civicgrid_dispatch.service_layer.unit_of_work import DispatchUnitOfWork

SERVICE = "dispatch"
MIGRATIONS = Path(__file__).parent / "migrations"


class DispatchSettings(ServiceSettings):
    http_port: int = 8002


def bootstrap(settings: DispatchSettings | None = None) -> tuple[FastAPI, ServiceRuntime]:
    settings = settings or DispatchSettings()
    runtime = ServiceRuntime(SERVICE, SERVICE, settings, MIGRATIONS)
    registrar = Registrar(matters=ReferenceMatters(), units=ReferenceUnits())

    def make_uow() -> DispatchUnitOfWork:
        return DispatchUnitOfWork(runtime.db, SERVICE, source="/civicgrid/dispatch")

    runtime.add_consumer(
        "dispatch-registration", [APPEALS], {AppealReceived: registrar.on_appeal_received},
        make_uow, description="Registers each received appeal as a case and assigns it.",
    )
    app = create_app(runtime, title="civicgrid dispatch",
                     description="Owns the case: registration, routing, deadlines, life cycle.")
    return app, runtime
