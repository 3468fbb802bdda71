"""Enforcement's composition root: every dependency wired explicitly, in one place."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from civicgrid_shared.contracts.events import CaseHandedOver
from civicgrid_shared.contracts.topics import ENFORCEMENT
from civicgrid_shared.errors import safe_reason
from civicgrid_shared.logs import get_logger
from civicgrid_shared.runtime import ServiceRuntime
from civicgrid_shared.settings import ServiceSettings
from civicgrid_shared.web.app import create_app
from fastapi import FastAPI
from pydantic import Field

from civicgrid_enforcement.adapters.reference import TEAM_KIND, Directory
from civicgrid_enforcement.domain.discretion import Policy
from civicgrid_enforcement.entrypoints.auth import UnitKeys
from civicgrid_enforcement.entrypoints.http import build_router, install_error_handlers
from civicgrid_enforcement.reference.catalog import load_catalog
from civicgrid_enforcement.service_layer.handlers import Enforcement
from civicgrid_enforcement.service_layer.monitor import check_deadlines
from civicgrid_enforcement.service_layer.unit_of_work import EnforcementUnitOfWork

SERVICE = "enforcement"
MIGRATIONS = Path(__file__).parent / "migrations"
log = get_logger(__name__)


class EnforcementSettings(ServiceSettings):
    http_port: int = 8003
    # API keys: unit id -> SHA-256 hex of the key (JSON in CIVICGRID_ENFORCEMENT_API_KEYS).
    enforcement_api_keys: dict[str, str] = Field(default_factory=dict)
    # Development only: every team and department unit has the key "dev-<unit id>".
    # Unset: on when CIVICGRID_ENV=local (as in dispatch), off anywhere else.
    dev_unit_keys: bool | None = None
    # The simple procedure (简易程序): warning, or a fine up to these (yuan).
    simple_fine_individual_max_yuan: int = 200
    simple_fine_organisation_max_yuan: int = 3000
    # Optional city-wide bars above which a fine is a major decision (lower than the
    # catalog's per-violation bar wins).
    major_fine_individual_yuan: int | None = None
    major_fine_organisation_yuan: int | None = None
    decision_limit_days: int = 90
    decision_warn_days: int = 75
    disclosure_working_days: int = 7
    deadline_check_interval_s: float = 60.0

    @property
    def dev_keys_enabled(self) -> bool:
        return self.dev_unit_keys if self.dev_unit_keys is not None else self.env == "local"

    def policy(self) -> Policy:
        return Policy(
            simple_fine_individual_max=self.simple_fine_individual_max_yuan,
            simple_fine_organisation_max=self.simple_fine_organisation_max_yuan,
            major_fine_individual_over=self.major_fine_individual_yuan,
            major_fine_organisation_over=self.major_fine_organisation_yuan,
            decision_limit_days=self.decision_limit_days,
            decision_warn_days=self.decision_warn_days,
            disclosure_working_days=self.disclosure_working_days,
        )


def bootstrap(settings: EnforcementSettings | None = None) -> tuple[FastAPI, ServiceRuntime]:
    settings = settings or EnforcementSettings()
    runtime = ServiceRuntime(SERVICE, SERVICE, settings, MIGRATIONS)
    catalog = load_catalog()
    directory = Directory()
    catalog.check_department_kinds(directory.unit_kinds())
    policy = settings.policy()
    handlers = Enforcement(catalog=catalog, teams=directory, policy=policy)
    key_holders = directory.units_of_kinds(catalog.department_kinds() | {TEAM_KIND})
    keys = UnitKeys({u.id: u for u in key_holders},
                    settings.enforcement_api_keys, dev_keys=settings.dev_keys_enabled)

    def make_uow() -> EnforcementUnitOfWork:
        return EnforcementUnitOfWork(runtime.db, SERVICE, source="/civicgrid/enforcement")

    runtime.add_consumer(
        "enforcement-handovers", [ENFORCEMENT], {CaseHandedOver: handlers.on_case_handed_over},
        make_uow, description="Opens a lead for each case dispatch hands over to enforcement.",
        pace="bulk",
    )
    app = create_app(runtime, title="civicgrid enforcement",
                     description="Comprehensive administrative enforcement (综合行政执法): "
                                 "cases, full-process records, legal review, discretion, "
                                 "disclosure, joint inspections.")
    install_error_handlers(app)
    app.include_router(build_router(handlers, make_uow, keys, catalog))

    async def periodic_check() -> None:
        while True:
            try:
                await check_deadlines(make_uow(), policy, datetime.now(UTC))
            except Exception as exc:  # the next round tries again
                log.warning("deadline check failed", reason=safe_reason(exc))
            await asyncio.sleep(settings.deadline_check_interval_s)

    # create_app has no shutdown hook: wrap its lifespan to run the periodic check
    # while the runtime is up, and stop it before the runtime stops.
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        async with inner(a):
            task = asyncio.create_task(periodic_check(), name="enforcement-deadline-check")
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = lifespan
    return app, runtime
