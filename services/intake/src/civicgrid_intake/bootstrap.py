"""Intake's composition root: every dependency wired explicitly, in one place."""

from __future__ import annotations

import uuid
from pathlib import Path

from civicgrid_shared.contracts.topics import ALL_TOPICS, CASES
from civicgrid_shared.reference.loader import load_matters
from civicgrid_shared.runtime import ServiceRuntime
from civicgrid_shared.settings import ServiceSettings
from civicgrid_shared.web.app import create_app
from fastapi import FastAPI
from pydantic import Field

from civicgrid_intake.adapters.classifier import TRAINING_FILE, build_classifier
from civicgrid_intake.adapters.keys import key_ring
from civicgrid_intake.adapters.reference import CatalogRules, ReferenceLocator, ReferenceUnits
from civicgrid_intake.domain.commands import SubmitAppeal
from civicgrid_intake.entrypoints.http import build_router
from civicgrid_intake.entrypoints.limits import BodySizeLimit
from civicgrid_intake.entrypoints.open311 import build_open311_router
from civicgrid_intake.entrypoints.security import Access, AnonymousPolicy
from civicgrid_intake.raw_channels import RAW_TOPICS
from civicgrid_intake.service_layer.case_events import CaseEventHandlers
from civicgrid_intake.service_layer.group_commit import GroupCommitter
from civicgrid_intake.service_layer.handlers import Pipeline, Submit, Submitted, submit_appeal
from civicgrid_intake.service_layer.raw_intake import raw_channel_routes
from civicgrid_intake.service_layer.unit_of_work import IntakeUnitOfWork

SERVICE = "intake"
SOURCE = "/civicgrid/intake"
MIGRATIONS = Path(__file__).parent / "migrations"


class IntakeSettings(ServiceSettings):
    """Intake's settings (environment, prefix ``CIVICGRID_``)."""

    http_port: int = 8001
    # Channel keys: a JSON file of SHA-256 digests (default: the packaged, empty one).
    api_keys_file: str | None = None
    # Also accept the documented development keys "dev-<channel>" (never in production).
    dev_channel_keys: bool = False
    # Keyless submissions to the generic POST /v1/appeals, throttled as one client.
    # Unset: allowed on the local stack (CIVICGRID_ENV=local) only, refused elsewhere.
    anonymous_generic: bool | None = None
    anonymous_rate_per_s: float = 5000.0
    anonymous_burst: int = 10000
    max_body_bytes: int = 64 * 1024
    # Below this classifier confidence an appeal without a matter waits in triage.
    classify_threshold: float = Field(default=0.6, ge=0.0, le=1.0)
    # Concurrent submissions share transactions (see service_layer/group_commit.py).
    group_commit: bool = True
    group_commit_workers: int = Field(default=4, ge=1, le=32)
    # JSONL of labelled examples ({"text", "matter_code"}) to train on (default: the
    # packaged data/training_appeals.jsonl).
    classifier_training_file: str | None = None


def build_pipeline(settings: IntakeSettings) -> Pipeline:
    catalog = load_matters()
    return Pipeline(
        locator=ReferenceLocator(),
        matters=CatalogRules(catalog),
        classifier=build_classifier(
            catalog, training_file=settings.classifier_training_file or TRAINING_FILE),
        threshold=settings.classify_threshold,
    )


def bootstrap(settings: IntakeSettings | None = None) -> tuple[FastAPI, ServiceRuntime]:
    settings = settings or IntakeSettings()
    runtime = ServiceRuntime(SERVICE, SERVICE, settings, MIGRATIONS,
                             topics=(*ALL_TOPICS, *RAW_TOPICS))
    pipeline = build_pipeline(settings)
    access = Access(
        key_ring(settings.api_keys_file, settings.dev_channel_keys),
        AnonymousPolicy(settings.env == "local" if settings.anonymous_generic is None
                        else settings.anonymous_generic, settings.anonymous_rate_per_s,
                        settings.anonymous_burst),
    )

    def make_uow() -> IntakeUnitOfWork:
        return IntakeUnitOfWork(runtime.db, SERVICE, source=SOURCE)

    def make_batch_uow() -> IntakeUnitOfWork:
        # Group commits and consumers: statements over arrays, re-planned at every
        # execution otherwise (2 ms per batch for the duplicate probe; see UnitOfWork).
        return IntakeUnitOfWork(runtime.db, SERVICE, source=SOURCE, generic_plans=True)

    submit: Submit
    if settings.group_commit:
        submit = GroupCommitter(make_batch_uow, pipeline,
                                workers=settings.group_commit_workers).submit
    else:
        async def submit(cmd: SubmitAppeal, cid: uuid.UUID | None) -> Submitted:
            return await submit_appeal(cmd, make_uow(), pipeline, cid)

    runtime.add_consumer(
        "intake-cases", [CASES], CaseEventHandlers(ReferenceUnits()).routes(), make_batch_uow,
        "Intake follows dispatch's cases: open cases for duplicate detection, public "
        "progress notes for citizens.",
        pace="bulk",
    )
    runtime.add_consumer(
        "intake-raw-channels", list(RAW_TOPICS), raw_channel_routes(pipeline),
        make_batch_uow,
        "Raw channel records (hotline, grid app, web boards) through the appeal pipeline.",
        pace="bulk",  # the channel system published and moved on: nobody waits here
    )

    app = create_app(
        runtime,
        title="civicgrid intake",
        description="One end receives every appeal (一端受理): hotline, grid app, web boards, "
                    "Open311. Accepted appeals are durable before the answer.",
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(build_router(make_uow, pipeline, access, submit))
    app.include_router(build_open311_router(make_uow, submit, access, load_matters()))
    return app, runtime
