"""Each life-cycle action of the case: allowed from the right states, refused otherwise,
and what it records."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from civicgrid_dispatch.domain.case import (
    Case,
    CaseRuleError,
    CaseState,
    IllegalTransition,
)
from civicgrid_shared.contracts.events import Channel, Satisfaction, TerritoryRef

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
S = CaseState


def assigned() -> Case:
    case = Case(case_id=uuid.uuid4(), appeal_id=uuid.uuid4(), case_number="1",
                channel=Channel.HOTLINE, matter_code="CA-003", category_code="CA",
                priority="normal", territory=TerritoryRef(), received_at=T0)
    case.register(T0)
    case.assign("unit-a", "community", T0 + 2 * H, T0 + 48 * H, T0)
    return case


def signed() -> Case:
    case = assigned()
    case.sign_for(T0 + H, "unit-a")
    return case


def resolved(at: datetime = T0 + 10 * H) -> Case:
    case = signed()
    case.resolve("fixed", at, "unit-a")
    return case


def test_sign_for_is_on_time_or_late_and_only_once() -> None:
    case = assigned()
    assert case.sign_for(T0 + H) is True
    with pytest.raises(IllegalTransition, match="already signed for"):
        case.sign_for(T0 + 2 * H)
    late = assigned()
    assert late.sign_for(T0 + 3 * H) is False


def test_resolve_needs_sign_for_and_a_result() -> None:
    with pytest.raises(IllegalTransition, match="sign for it first"):
        assigned().resolve("done", T0)
    with pytest.raises(CaseRuleError, match="result"):
        signed().resolve("  ", T0)
    case = signed()
    assert case.resolve("done", T0 + 3 * H) is True and case.state is S.RESOLVED
    assert signed().resolve("done", T0 + 49 * H) is False  # after resolve_due


def test_start_needs_sign_for() -> None:
    with pytest.raises(IllegalTransition):
        assigned().start(T0)
    case = signed()
    case.start(T0 + 2 * H)
    assert case.state is S.IN_PROGRESS


def test_return_counts_and_remembers_the_unit() -> None:
    case = signed()
    with pytest.raises(CaseRuleError):
        case.return_("", T0)
    case.return_("not ours", T0 + 2 * H, "unit-a")
    assert (case.state, case.return_count, case.returned_by) == (S.RETURNED, 1, ["unit-a"])
    assert case.signed_at is None
    with pytest.raises(IllegalTransition):
        resolved().return_("too late", T0 + 11 * H)


def test_extension_must_move_the_deadline_later_and_is_decided_once() -> None:
    case = signed()
    with pytest.raises(CaseRuleError, match="requested_due"):
        case.request_extension(T0 + 47 * H, "need time", T0 + 2 * H)
    with pytest.raises(IllegalTransition):
        assigned().request_extension(T0 + 96 * H, "need time", T0 + H)
    case.request_extension(T0 + 96 * H, "need time", T0 + 2 * H)
    assert case.state is S.EXTENSION_REQUESTED
    assert case.decide_extension(True, T0 + 3 * H) == T0 + 96 * H
    assert case.state is S.IN_PROGRESS and case.requested_due is None
    with pytest.raises(IllegalTransition, match="no extension request"):
        case.decide_extension(True, T0 + 4 * H)


def test_refused_extension_keeps_the_deadline() -> None:
    case = signed()
    case.request_extension(T0 + 96 * H, "need time", T0 + 2 * H)
    assert case.decide_extension(False, T0 + 3 * H, "no") == T0 + 48 * H


def test_supervision_raises_the_level_without_leaving_supervised() -> None:
    case = assigned()
    case.supervise(1, T0 + 3 * H)
    assert case.state is S.SUPERVISED
    case.supervise(2, T0 + 30 * H)
    assert (case.state, case.supervision_level) == (S.SUPERVISED, 2)
    case.sign_for(T0 + 31 * H)  # a supervised unit can still sign for
    assert case.state is S.SIGNED_FOR


def test_escalation_and_holding_at_the_platform() -> None:
    case = signed()
    case.escalate(T0 + 2 * H, "beyond our power")
    assert case.state is S.ESCALATED and case.signed_at is None
    case.hold_at_platform("city-platform")
    assert (case.unit_id, case.tier) == ("city-platform", "city")
    with pytest.raises(IllegalTransition):
        signed().hold_at_platform("city-platform")


def test_callback_then_close_or_reopen() -> None:
    case = resolved()
    case.request_callback(T0 + 72 * H)
    case.called_back(True, Satisfaction.SATISFIED, T0 + 20 * H)
    assert case.close(T0 + 20 * H) is True and case.state is S.CLOSED
    assert not case.is_open

    again = resolved()
    again.called_back(False, Satisfaction.NOT_SATISFIED, T0 + 20 * H)
    again.reopen("not solved", T0 + 20 * H)
    assert (again.state, again.reopen_count, again.resolved_at) == (S.REOPENED, 1, None)
    again.assign("unit-a", "community", T0 + 22 * H, T0 + 60 * H, T0 + 20 * H)
    assert again.state is S.ASSIGNED and again.signed_at is None


def test_callback_only_for_a_resolved_case() -> None:
    with pytest.raises(IllegalTransition):
        signed().called_back(True, Satisfaction.SATISFIED, T0)
    with pytest.raises(IllegalTransition):
        signed().request_callback(T0)


def test_closing_late_resolved_case_is_not_on_time() -> None:
    case = resolved(T0 + 50 * H)
    assert case.close(T0 + 60 * H, "no call-back answer") is False


def test_on_the_spot_goes_straight_from_registered_to_resolved() -> None:
    case = Case(case_id=uuid.uuid4(), appeal_id=uuid.uuid4(), case_number="2",
                channel=Channel.GRID_APP, matter_code="CA-003", category_code="CA",
                priority="normal", territory=TerritoryRef(), received_at=T0)
    case.register(T0)
    case.resolve_on_the_spot("grid-1", "grid", "cleaned it", T0)
    assert (case.state, case.on_the_spot, case.unit_id) == (S.RESOLVED, True, "grid-1")
    assert [t.to_state for t in case.transitions] == [S.REGISTERED, S.RESOLVED]


def test_new_transitions_are_those_not_saved_yet() -> None:
    case = assigned()
    case.saved_transitions, case.stored_seq = 2, 2
    case.sign_for(T0 + H, "unit-a")
    assert [t.to_state for t in case.new_transitions] == [S.SIGNED_FOR]
    assert case.transitions[-1].actor == "unit-a"
    assert case.last_change_at == T0 + H
