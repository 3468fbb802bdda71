"""Dispatch's composition root: every dependency wired explicitly, in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from civicgrid_shared.contracts.events import (
    AppealReceived,
    CallbackAnswered,
    EnforcementOutcome,
    UnitResponse,
)
from civicgrid_shared.contracts.topics import APPEALS, ENFORCEMENT, RESPONSES
from civicgrid_shared.runtime import ServiceRuntime
from civicgrid_shared.settings import ServiceSettings
from civicgrid_shared.web.app import create_app
from fastapi import FastAPI

from civicgrid_dispatch.adapters.api_keys import ApiKeys, load_key_file
from civicgrid_dispatch.adapters.reference import ReferenceMatters, ReferenceUnits
from civicgrid_dispatch.domain.policy import Policy
from civicgrid_dispatch.entrypoints.http import build_router, install_error_handlers
from civicgrid_dispatch.entrypoints.scheduler import DeadlineScheduler
from civicgrid_dispatch.service_layer.handlers import Registrar
from civicgrid_dispatch.service_layer.lifecycle import Lifecycle
from civicgrid_dispatch.service_layer.unit_of_work import DispatchUnitOfWork

SERVICE = "dispatch"
MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_KEYS_FILE = Path(__file__).parent / "data" / "api_keys.json"


class DispatchSettings(ServiceSettings):
    """Dispatch's settings (prefix CIVICGRID_; see README's dispatch section)."""

    http_port: int = 8002
    # Workbench keys: a JSON file of key hashes (adapters/api_keys.py).
    dispatch_api_keys_file: Path = DEFAULT_KEYS_FILE
    # "dev-<unit id>" keys for every unit: on by default only when env is "local".
    dev_unit_keys: bool | None = None
    # Every time limit multiplied by this (1.0 real time; e.g. 0.001 in simulations).
    dispatch_time_scale: float = 1.0
    dispatch_warn_fraction: float = 0.2
    dispatch_escalate_after_hours: float = 24.0
    dispatch_callback_working_days: int = 3
    dispatch_respond_minutes: float = 30.0
    dispatch_max_returns: int = 2
    dispatch_max_reopens: int = 2
    dispatch_basically_satisfied_counts: bool = True
    dispatch_green_channel_min_workers: int = 10
    dispatch_green_channel_min_amount_yuan: float = 100_000.0
    dispatch_green_channel_sign_for_hours: float = 2.0
    dispatch_enforcement_resolve_days: int = 90
    dispatch_scheduler_interval_s: float = 1.0
    dispatch_scheduler_batch: int = 100

    def policy(self) -> Policy:
        return Policy(
            time_scale=self.dispatch_time_scale,
            warn_fraction=self.dispatch_warn_fraction,
            escalate_after_hours=self.dispatch_escalate_after_hours,
            callback_working_days=self.dispatch_callback_working_days,
            respond_minutes=self.dispatch_respond_minutes,
            max_returns=self.dispatch_max_returns,
            max_reopens=self.dispatch_max_reopens,
            basically_satisfied_counts=self.dispatch_basically_satisfied_counts,
            green_channel_min_workers=self.dispatch_green_channel_min_workers,
            green_channel_min_amount_yuan=self.dispatch_green_channel_min_amount_yuan,
            green_channel_sign_for_hours=self.dispatch_green_channel_sign_for_hours,
            enforcement_resolve_days=self.dispatch_enforcement_resolve_days,
        )

    @property
    def dev_keys_enabled(self) -> bool:
        return self.dev_unit_keys if self.dev_unit_keys is not None else self.env == "local"


def bootstrap(settings: DispatchSettings | None = None) -> tuple[FastAPI, ServiceRuntime]:
    settings = settings or DispatchSettings()
    runtime = ServiceRuntime(SERVICE, SERVICE, settings, MIGRATIONS)
    matters, units, policy = ReferenceMatters(), ReferenceUnits(), settings.policy()
    registrar = Registrar(matters=matters, units=units, policy=policy)
    lifecycle = Lifecycle(matters=matters, units=units, policy=policy)
    keys = ApiKeys(load_key_file(settings.dispatch_api_keys_file), units.exists,
                   dev_keys=settings.dev_keys_enabled)

    def make_uow() -> DispatchUnitOfWork:
        return DispatchUnitOfWork(runtime.db, SERVICE, source="/civicgrid/dispatch")

    runtime.add_consumer(
        "dispatch-registration", [APPEALS],
        {AppealReceived: registrar.on_appeal_received,
         CallbackAnswered: lifecycle.on_callback_answered},
        make_uow, description="Registers each received appeal as a case and dispatches it; "
                              "applies the citizens' call-back answers.",
        prepare=registrar.prepare,
    )
    runtime.add_consumer(
        "dispatch-responses", [RESPONSES], {UnitResponse: lifecycle.on_unit_response},
        make_uow, description="Applies the units' responses (sign for, return, extension, "
                              "escalate, resolve, respond) to their cases.",
        pace="bulk",
    )
    runtime.add_consumer(
        "dispatch-enforcement", [ENFORCEMENT], {EnforcementOutcome:
                                                lifecycle.on_enforcement_outcome},
        make_uow, description="Takes enforcement outcomes back as the handling result.",
        pace="bulk",
    )
    scheduler = DeadlineScheduler(make_uow, lifecycle, settings.dispatch_scheduler_interval_s,
                                  settings.dispatch_scheduler_batch)
    app = create_app(runtime, title="civicgrid dispatch",
                     description="Owns the case: registration, routing, deadlines, life cycle, "
                                 "the units' workbench and the city platform's desk.",
                     on_startup=scheduler.start)
    shell_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        async with shell_lifespan(a):
            try:
                yield
            finally:  # before the runtime closes the pool under it
                await scheduler.stop()

    app.router.lifespan_context = lifespan
    install_error_handlers(app)
    app.include_router(build_router(make_uow, lifecycle, keys))
    return app, runtime
