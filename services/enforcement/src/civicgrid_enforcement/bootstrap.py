"""Enforcement's composition root. Its domain (cases, evidence chain, review,
decisions, disclosure) is not built yet: today it runs the shared machinery only."""

from __future__ import annotations

from pathlib import Path

from civicgrid_shared.runtime import ServiceRuntime
from civicgrid_shared.settings import ServiceSettings
from civicgrid_shared.web.app import create_app
from fastapi import FastAPI

SERVICE = "enforcement"
MIGRATIONS = Path(__file__).parent / "migrations"


class EnforcementSettings(ServiceSettings):
    http_port: int = 8003


def bootstrap(settings: EnforcementSettings | None = None) -> tuple[FastAPI, ServiceRuntime]:
    settings = settings or EnforcementSettings()
    runtime = ServiceRuntime(SERVICE, SERVICE, settings, MIGRATIONS)
    app = create_app(runtime, title="civicgrid enforcement",
                     description="Comprehensive administrative enforcement (综合行政执法).")
    return app, runtime
