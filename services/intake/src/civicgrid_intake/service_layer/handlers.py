"""Intake's handlers: take a command and a unit of work, change state, emit events."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from civicgrid_shared.contracts.events import (
    CallbackAnswered,
    Channel,
    HistoricalRecord,
    Satisfaction,
)
from civicgrid_shared.contracts.topics import APPEALS
from civicgrid_shared.errors import SafeError
from pydantic import ValidationError

from civicgrid_intake.adapters.repository import CaseProbe
from civicgrid_intake.domain import phones
from civicgrid_intake.domain.commands import SubmitAppeal
from civicgrid_intake.domain.duplicates import Probe, bounding_box, find_duplicate
from civicgrid_intake.domain.model import (
    RECEIVED,
    TRIAGE,
    Appeal,
    UnknownLocation,
    clean_text,
    new_tracking_code,
)
from civicgrid_intake.service_layer.ports import Classifier, Locator, MatterCodes, MatterRules
from civicgrid_intake.service_layer.unit_of_work import IntakeUnitOfWork


class UnknownMatter(SafeError):
    pass


class NotFound(SafeError):
    pass


class Conflict(SafeError):
    pass


@dataclass(frozen=True)
class Submitted:
    appeal: Appeal
    created: bool


# How the entrypoints submit: one transaction each, or a group commit (bootstrap decides).
Submit = Callable[[SubmitAppeal, uuid.UUID | None], Awaitable[Submitted]]


@dataclass(frozen=True)
class Pipeline:
    """Everything the submit path needs besides the unit of work (wired in bootstrap)."""

    locator: Locator
    matters: MatterRules
    classifier: Classifier | None = None
    threshold: float = 0.6


def command_from(build: object) -> SubmitAppeal:
    """Turn a channel body's mapping into the command, as a SafeError when it fails."""
    try:
        to_command = build.to_command  # type: ignore[attr-defined]
        cmd = to_command()
    except ValidationError as exc:
        fields = ", ".join(sorted({".".join(str(p) for p in e["loc"]) or "(root)"
                                   for e in exc.errors(include_input=False)}))
        raise SafeError(f"invalid appeal fields: {fields}") from None
    assert isinstance(cmd, SubmitAppeal)
    return cmd


def build_appeal(cmd: SubmitAppeal, locator: Locator, matters: MatterCodes,
                 now: datetime, *, history: HistoricalRecord | None = None) -> Appeal:
    """Validate and normalise a submission into an appeal (pure: no I/O)."""
    if cmd.grid_code is not None:
        territory = locator.by_grid_code(cmd.grid_code)
        if territory is None:
            raise UnknownLocation("grid_code: not a grid of this city")
    else:
        assert cmd.latitude is not None and cmd.longitude is not None
        territory = locator.by_point(cmd.latitude, cmd.longitude)
        if territory is None:
            raise UnknownLocation(
                "latitude: the point (latitude, longitude) is outside this city's grids")
    if cmd.matter_code is not None and cmd.matter_code not in matters:
        raise UnknownMatter("matter_code: not in the matter catalog")
    e164 = phones.normalise(cmd.contact_phone) if cmd.contact_phone else None
    content = clean_text(cmd.content)
    if not content:
        raise SafeError("content: empty after cleaning")
    return Appeal(
        appeal_id=uuid.uuid4(),
        tracking_code=new_tracking_code(),
        channel=cmd.channel,
        external_id=cmd.external_id,
        received_at=history.created_at if history is not None else now,
        occurred_at=cmd.occurred_at,
        title=clean_text(cmd.title) if cmd.title else None,
        content=content,
        matter_code=cmd.matter_code,
        matter_confidence=1.0 if cmd.matter_code else None,
        territory=territory,
        contact_phone_e164=e164,
        contact_phone_masked=phones.mask(e164) if e164 else None,
        resolved_on_spot=cmd.resolved_on_spot,
        grid_worker_id=cmd.grid_worker_id,
        resolution_note=clean_text(cmd.resolution_note) if cmd.resolution_note else None,
        callback_consent=cmd.callback_consent,
        history=history,
        latitude=cmd.latitude,
        longitude=cmd.longitude,
        media=tuple(cmd.media),
    )


def classified(appeal: Appeal, classifier: Classifier | None, threshold: float) -> Appeal:
    """An explicit matter wins; else the classifier's, or the triage queue when unsure."""
    if appeal.matter_code is not None or appeal.history is not None or classifier is None:
        return appeal
    text = f"{appeal.title}\n{appeal.content}" if appeal.title else appeal.content
    result = classifier.classify(text)
    if result.matter_code is not None and result.confidence >= threshold:
        return replace(appeal, matter_code=result.matter_code,
                       matter_confidence=round(result.confidence, 4))
    return replace(appeal, status=TRIAGE,
                   matter_confidence=round(result.confidence, 4) if result.matter_code else None)


async def _flag_duplicates(appeals: Sequence[Appeal], uow: IntakeUnitOfWork,
                           rules: MatterRules) -> list[Appeal]:
    """Set duplicate_of_case_id where an appeal repeats an open case (one query)."""
    todo = [i for i, a in enumerate(appeals)
            if a.status == RECEIVED and a.matter_code is not None and a.history is None]
    probes: list[CaseProbe] = []
    for i in todo:
        a = appeals[i]
        assert a.matter_code is not None
        rule = rules.duplicate_rule(a.matter_code)
        window = timedelta(hours=rule.window_hours)
        bbox = (bounding_box(a.latitude, a.longitude, rule.radius_m)
                if a.latitude is not None and a.longitude is not None and rule.radius_m > 0
                else None)
        probes.append(CaseProbe(a.matter_code, a.received_at - window, a.received_at + window,
                                bbox, a.territory.grid_code if rule.radius_m > 0 else None,
                                a.contact_phone_e164))
    found = await uow.appeals.open_cases_for(probes)
    flagged = list(appeals)
    for j, i in enumerate(todo):
        a = appeals[i]
        assert a.matter_code is not None
        probe = Probe(a.matter_code, a.received_at, a.latitude, a.longitude,
                      a.territory.grid_code, a.contact_phone_e164)
        case_id = find_duplicate(probe, found.get(j, []), rules.duplicate_rule(a.matter_code))
        if case_id is not None:
            flagged[i] = replace(a, duplicate_of_case_id=case_id)
    return flagged


async def store_appeals(appeals: Sequence[Appeal], uow: IntakeUnitOfWork, pipeline: Pipeline,
                        correlation_ids: Sequence[uuid.UUID | None] | None = None
                        ) -> list[Submitted]:
    """Store appeals in an open unit of work (the caller commits), in a few statements.

    A retried submission (same channel and external id, here or earlier) returns the
    original and writes nothing. A classified appeal is checked for duplicates of open
    cases and its 'received' event is emitted; one in triage is stored only.
    """
    cids = list(correlation_ids) if correlation_ids is not None else [None] * len(appeals)
    keys = [(a.channel, a.external_id) for a in appeals if a.external_id is not None]
    existing = await uow.appeals.by_external_ids(keys)
    results: list[Submitted | None] = [None] * len(appeals)
    first_of: dict[tuple[Channel, str], int] = {}
    fresh_idx: list[int] = []
    for i, a in enumerate(appeals):
        key = (a.channel, a.external_id) if a.external_id is not None else None
        if key is not None and key in existing:
            results[i] = Submitted(existing[key], created=False)
        elif key is not None and key in first_of:
            continue  # the same submission twice in this batch: answered below
        else:
            if key is not None:
                first_of[key] = i
            fresh_idx.append(i)
    fresh = await _flag_duplicates([appeals[i] for i in fresh_idx], uow, pipeline.matters)
    inserted = await uow.appeals.add_many(fresh)
    for i, a in zip(fresh_idx, fresh, strict=True):
        if a.appeal_id not in inserted:
            continue  # lost a race with a concurrent identical submission
        results[i] = Submitted(a, created=True)
        if a.status == RECEIVED:
            uow.emit(a.received_event(), topic=APPEALS.name, key=str(a.appeal_id),
                     correlation_id=cids[i])
    pending = [i for i, r in enumerate(results) if r is None]
    if pending:
        winners = await uow.appeals.by_external_ids(
            [(appeals[i].channel, appeals[i].external_id or "") for i in pending])
        for i in pending:
            key = (appeals[i].channel, appeals[i].external_id or "")
            first = results[first_of[key]] if key in first_of else None
            winner = first.appeal if first is not None and first.created else winners.get(key)
            if winner is None:
                raise RuntimeError("a conflicting submission vanished; retry")
            results[i] = Submitted(winner, created=False)
    return [r for r in results if r is not None]


async def store_appeal(appeal: Appeal, uow: IntakeUnitOfWork, pipeline: Pipeline,
                       correlation_id: uuid.UUID | None = None) -> Submitted:
    """One appeal in an open unit of work: see store_appeals."""
    [result] = await store_appeals([appeal], uow, pipeline, [correlation_id])
    return result


def prepare(cmd: SubmitAppeal, pipeline: Pipeline, now: datetime | None = None,
            history: HistoricalRecord | None = None) -> Appeal:
    """Build and classify (CPU only: done before the transaction opens)."""
    appeal = build_appeal(cmd, pipeline.locator, pipeline.matters, now or datetime.now(UTC),
                          history=history)
    return classified(appeal, pipeline.classifier, pipeline.threshold)


async def submit_appeal(cmd: SubmitAppeal, uow: IntakeUnitOfWork, pipeline: Pipeline,
                        correlation_id: uuid.UUID | None = None) -> Submitted:
    """Store the appeal and its 'received' event in one transaction, committed on return."""
    appeal = prepare(cmd, pipeline)
    async with uow:
        result = await store_appeal(appeal, uow, pipeline, correlation_id)
        if result.created:
            await uow.commit()
    return result


async def classify_manually(appeal_id: uuid.UUID, matter_code: str, uow: IntakeUnitOfWork,
                            pipeline: Pipeline, correlation_id: uuid.UUID | None = None
                            ) -> Appeal:
    """A person chose the matter of an appeal in triage: now it goes to dispatch."""
    if matter_code not in pipeline.matters:
        raise UnknownMatter("matter_code: not in the matter catalog")
    async with uow:
        appeal = await uow.appeals.get(appeal_id, for_update=True)
        if appeal is None:
            raise NotFound("no appeal with this id")
        if appeal.status != TRIAGE:
            raise Conflict("the appeal is not waiting in triage")
        appeal = replace(appeal, matter_code=matter_code, matter_confidence=1.0,
                         status=RECEIVED)
        [appeal] = await _flag_duplicates([appeal], uow, pipeline.matters)
        await uow.appeals.classify(appeal)
        uow.emit(appeal.received_event(), topic=APPEALS.name, key=str(appeal.appeal_id),
                 correlation_id=correlation_id)
        await uow.commit()
    return appeal


@dataclass(frozen=True)
class AnswerCallback:
    tracking_code: str | None
    appeal_id: uuid.UUID | None
    solved: bool
    satisfaction: Satisfaction
    comment: str | None


async def answer_callback(cmd: AnswerCallback, uow: IntakeUnitOfWork,
                          correlation_id: uuid.UUID | None = None) -> CallbackAnswered:
    now = datetime.now(UTC)
    async with uow:
        if cmd.appeal_id is not None:
            appeal = await uow.appeals.get(cmd.appeal_id)
        elif cmd.tracking_code is not None:
            appeal = await uow.appeals.by_tracking_code(cmd.tracking_code)
        else:
            raise SafeError("tracking_code: give tracking_code or appeal_id")
        if appeal is None:
            raise NotFound("no appeal with this tracking code or id")
        if appeal.status == TRIAGE:
            raise Conflict("the appeal has not been handled yet")
        case_id = appeal.duplicate_of_case_id if appeal.case_id is None else appeal.case_id
        comment = clean_text(cmd.comment) if cmd.comment else None
        event = CallbackAnswered(appeal_id=appeal.appeal_id, case_id=case_id,
                                 solved=cmd.solved, satisfaction=cmd.satisfaction,
                                 comment=comment or None, answered_at=now)
        await uow.appeals.add_callback(uuid.uuid4(), appeal.appeal_id, case_id, cmd.solved,
                                       cmd.satisfaction.value, event.comment, now)
        uow.emit(event, topic=APPEALS.name, key=str(appeal.appeal_id),
                 correlation_id=correlation_id)
        await uow.commit()
    return event
