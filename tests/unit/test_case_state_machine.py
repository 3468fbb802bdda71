import uuid
from datetime import UTC, datetime

import pytest
from civicgrid_dispatch.domain.case import TRANSITIONS, Case, CaseState, IllegalTransition
from civicgrid_shared.contracts.events import Channel, TerritoryRef

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _case(state: CaseState = CaseState.RECEIVED) -> Case:
    return Case(case_id=uuid.uuid4(), appeal_id=uuid.uuid4(), case_number="1",
                channel=Channel.HOTLINE, matter_code="CA-001", category_code="CA",
                priority="normal", territory=TerritoryRef(), received_at=NOW, state=state)


def test_every_domain_state_exists() -> None:
    names = {s.value for s in CaseState}
    assert {"received", "registered", "rejected", "merged", "assigned", "signed_for",
            "in_progress", "resolved", "called_back", "closed", "returned",
            "extension_requested", "escalated", "supervised", "reopened"} <= names
    assert set(TRANSITIONS) == set(CaseState)


@pytest.mark.parametrize("source", list(CaseState))
@pytest.mark.parametrize("target", list(CaseState))
def test_each_pair_is_allowed_exactly_when_the_table_says(source: CaseState,
                                                           target: CaseState) -> None:
    case = _case(source)
    if target in TRANSITIONS[source]:
        case._move(target, NOW)
        assert case.state is target
        assert case.transitions[-1].from_state is source
    else:
        with pytest.raises(IllegalTransition) as err:
            case._move(target, NOW)
        assert case.state is source
        assert str(source) in str(err.value) and str(target) in str(err.value)


def test_register_then_assign_records_history_and_deadlines() -> None:
    case = _case()
    case.register(NOW)
    case.assign("unit-a", "community", NOW, NOW, NOW)
    assert case.state is CaseState.ASSIGNED
    assert [t.to_state for t in case.transitions] == [CaseState.REGISTERED, CaseState.ASSIGNED]
    assert case.unit_id == "unit-a" and case.is_open


def test_final_states_allow_nothing() -> None:
    for final in (CaseState.CLOSED, CaseState.REJECTED, CaseState.MERGED):
        assert TRANSITIONS[final] == frozenset()
