"""Timer rules: warning, overdue with supervision, escalation, call-back expiry; and the
deadline arithmetic they rely on (working days, holidays, scale)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from civicgrid_dispatch.domain.case import Case, CaseState
from civicgrid_dispatch.domain.deadlines import CITY_TZ, scaled_due, warn_at
from civicgrid_dispatch.domain.timers import Deadline, Stage, Step, first_look, is_relevant, plan
from civicgrid_shared.contracts.events import Channel, DeadlineKind, TerritoryRef

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
AFTER = timedelta(hours=24)


def deadline(kind: DeadlineKind = DeadlineKind.RESOLVE, stage: Stage = Stage.PENDING,
             due: datetime = T0 + 10 * H, warn: datetime | None = T0 + 8 * H,
             unit: str | None = "unit-a") -> Deadline:
    return Deadline(1, uuid.uuid4(), kind, unit, due, warn, stage)


def case(state: CaseState = CaseState.ASSIGNED, unit: str = "unit-a") -> Case:
    c = Case(case_id=uuid.uuid4(), appeal_id=uuid.uuid4(), case_number="1",
             channel=Channel.HOTLINE, matter_code="CA-003", category_code="CA",
             priority="normal", territory=TerritoryRef(), received_at=T0, state=state,
             unit_id=unit, sign_for_due=T0 + 2 * H, resolve_due=T0 + 10 * H)
    return c


def test_warning_then_overdue_then_escalation() -> None:
    d = deadline()
    warned = plan(d, True, T0 + 8 * H, AFTER)
    assert warned == (warned.__class__(Step.WARN, Stage.WARNED, T0 + 10 * H))
    overdue = plan(deadline(stage=Stage.WARNED), True, T0 + 10 * H, AFTER)
    assert (overdue.step, overdue.stage, overdue.next_at) == (
        Step.OVERDUE, Stage.OVERDUE, T0 + 10 * H + AFTER)
    escalate = plan(deadline(stage=Stage.OVERDUE), True, T0 + 34 * H, AFTER)
    assert (escalate.step, escalate.stage, escalate.next_at) == (Step.ESCALATE, Stage.DONE, None)


def test_a_late_look_skips_the_warning() -> None:
    assert plan(deadline(), True, T0 + 11 * H, AFTER).step is Step.OVERDUE


def test_woken_early_waits() -> None:
    p = plan(deadline(stage=Stage.OVERDUE), True, T0 + 12 * H, AFTER)
    assert (p.step, p.stage, p.next_at) == (Step.WAIT, Stage.OVERDUE, T0 + 10 * H + AFTER)
    assert plan(deadline(), True, T0, AFTER).step is Step.WAIT


def test_irrelevant_or_finished_deadlines_expire() -> None:
    assert plan(deadline(), False, T0 + 9 * H, AFTER) .step is Step.EXPIRE
    assert plan(deadline(stage=Stage.DONE), True, T0 + 9 * H, AFTER).next_at is None


def test_summons_stops_at_overdue() -> None:
    d = deadline(DeadlineKind.RESPOND, Stage.WARNED, T0 + H, T0)
    p = plan(d, True, T0 + H, AFTER)
    assert (p.step, p.stage, p.next_at) == (Step.OVERDUE, Stage.DONE, None)


def test_callback_deadline_closes_an_unanswered_case() -> None:
    d = deadline(DeadlineKind.CALLBACK, due=T0 + 72 * H, warn=None, unit=None)
    assert plan(d, True, T0 + 72 * H, AFTER).step is Step.CLOSE_UNANSWERED
    assert plan(d, True, T0 + 71 * H, AFTER).step is Step.WAIT


@pytest.mark.parametrize(("kind", "state", "signed", "relevant"), [
    (DeadlineKind.SIGN_FOR, CaseState.ASSIGNED, False, True),
    (DeadlineKind.SIGN_FOR, CaseState.SUPERVISED, False, True),
    (DeadlineKind.SIGN_FOR, CaseState.SIGNED_FOR, True, False),
    (DeadlineKind.RESOLVE, CaseState.IN_PROGRESS, True, True),
    (DeadlineKind.RESOLVE, CaseState.RESOLVED, True, False),
    (DeadlineKind.RESOLVE, CaseState.RETURNED, False, False),
    (DeadlineKind.CALLBACK, CaseState.RESOLVED, True, True),
    (DeadlineKind.CALLBACK, CaseState.CLOSED, True, False),
])
def test_relevance(kind: DeadlineKind, state: CaseState, signed: bool, relevant: bool) -> None:
    c = case(state)
    c.signed_at = T0 if signed else None
    d = deadline(kind, due=c.resolve_due if kind is DeadlineKind.RESOLVE else T0 + 2 * H)
    assert is_relevant(d, c) is relevant


def test_a_deadline_of_another_unit_or_moved_by_an_extension_is_stale() -> None:
    c = case(CaseState.IN_PROGRESS)
    assert not is_relevant(deadline(unit="unit-b"), c)
    c.resolve_due = T0 + 20 * H
    assert not is_relevant(deadline(), c)


def test_summons_relevant_until_responded() -> None:
    c = case(CaseState.IN_PROGRESS)
    d = deadline(DeadlineKind.RESPOND, unit="county-dept")
    assert is_relevant(d, c, responded=False)
    assert not is_relevant(d, c, responded=True)


def test_warn_at_is_a_fraction_of_the_window_before_due() -> None:
    assert warn_at(T0, T0 + 10 * H, 0.2) == T0 + 8 * H
    assert warn_at(T0, T0 + 10 * H, 0) == T0 + 10 * H
    assert first_look(T0 + 10 * H, T0 + 8 * H) == T0 + 8 * H
    assert first_look(T0 + 10 * H, None) == T0 + 10 * H


def test_call_back_window_skips_national_day_2025() -> None:
    # Resolved on 30 September 2025: 1-8 October are off, 11 October (Sat) is worked.
    start = datetime(2025, 9, 30, 15, 0, tzinfo=CITY_TZ)
    assert scaled_due(start, 3, "working_days") == datetime(2025, 10, 11, 15, 0, tzinfo=CITY_TZ)


def test_make_up_sunday_counts_as_a_working_day() -> None:
    start = datetime(2025, 9, 26, 10, 0, tzinfo=CITY_TZ)  # a Friday
    assert scaled_due(start, 1, "working_days") == datetime(2025, 9, 28, 10, 0, tzinfo=CITY_TZ)


def test_time_scale_shrinks_the_calendar_window() -> None:
    start = datetime(2025, 9, 30, 10, 0, tzinfo=CITY_TZ)
    full = scaled_due(start, 1, "working_days") - start  # 9 days across the holiday
    assert scaled_due(start, 1, "working_days", 1 / 3600) - start == full / 3600
    assert scaled_due(start, 2, "hours", 0.5) == start + H
