"""Every action of the enforcement case from every state, allowed and refused.

A case is built in each state the way the handlers build it; each public action of
EnforcementCase is then tried on it. The allowed pairs must move the case and record the
step (who, when, from, to); every other pair must be refused with a Conflict (a 409 at
the HTTP layer) and leave the case exactly as it was.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from civicgrid_enforcement.domain.case import (
    TRANSITIONS,
    CaseState,
    EnforcementCase,
    IllegalTransition,
    Source,
)
from civicgrid_enforcement.domain.discretion import (
    Decision,
    DecisionKind,
    PartyType,
    Policy,
    Procedure,
    assess,
)
from civicgrid_enforcement.domain.errors import Conflict
from civicgrid_enforcement.reference.catalog import Measure, Severity, Violation, load_catalog


def _violation(code: str) -> Violation:
    found = load_catalog().violation(code)
    assert found is not None
    return found


VENDING = _violation("SV-001")
POLICY = Policy()
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)  # when the action under test happens
S = CaseState

FINE_SIMPLE = Decision(DecisionKind.PENALTY, Procedure.SIMPLE, PartyType.INDIVIDUAL,
                       Severity.GENERAL, 100, (Measure.ORDER_TO_CORRECT,))
FINE_ORDINARY = replace(FINE_SIMPLE, procedure=Procedure.ORDINARY)
WARNING = Decision(DecisionKind.PENALTY, Procedure.SIMPLE, PartyType.INDIVIDUAL,
                   Severity.MINOR, 0, (Measure.WARNING,))


# -- a case in each state -------------------------------------------------------------------

def _decide(case: EnforcementCase, decision: Decision, officer: str, at: datetime) -> None:
    case.decide(decision, assess(VENDING, decision, POLICY), officer, at, POLICY)


def at_lead() -> EnforcementCase:
    return EnforcementCase.open_lead(uuid.uuid4(), Source.DISPATCH, "team-1", "140502001",
                                     T0, "system", "handed over by dispatch")


def at_not_filed() -> EnforcementCase:
    case = at_lead()
    case.not_file("no_violation", "stall already gone", "ZF-0001", T0)
    return case


def at_filed() -> EnforcementCase:
    case = at_lead()
    case.file(VENDING, "ZF20260302000001", "ZF-0001", T0, POLICY)
    return case


def at_investigation() -> EnforcementCase:
    case = at_filed()
    case.start_investigation("ZF-0001", T0, "site visit")
    return case


def at_review_pending() -> EnforcementCase:
    case = at_investigation()
    case.request_review(FINE_ORDINARY, "ZF-0001", T0)
    return case


def at_review_approved() -> EnforcementCase:
    case = at_review_pending()
    case.complete_review("FZ-0009", True, "lawful and proportionate", T0)
    return case


def at_decided() -> EnforcementCase:  # a fine: something to execute
    case = at_filed()
    _decide(case, FINE_SIMPLE, "ZF-0001", T0)
    return case


def at_delivered_fine() -> EnforcementCase:
    case = at_decided()
    case.deliver("ZF-0001", T0, "in_person")
    return case


def at_delivered_warning() -> EnforcementCase:  # a warning: nothing to execute
    case = at_filed()
    _decide(case, WARNING, "ZF-0001", T0)
    case.deliver("ZF-0001", T0, "in_person")
    return case


def at_executed() -> EnforcementCase:
    case = at_delivered_fine()
    case.execute("ZF-0001", T0, "fine paid")
    return case


def at_closed() -> EnforcementCase:
    case = at_executed()
    case.close("ZF-0001", T0, None)
    return case


SCENARIOS: dict[str, Callable[[], EnforcementCase]] = {
    "lead": at_lead, "not_filed": at_not_filed, "filed": at_filed,
    "investigation": at_investigation, "review_pending": at_review_pending,
    "review_approved": at_review_approved, "decided": at_decided,
    "delivered_fine": at_delivered_fine, "delivered_warning": at_delivered_warning,
    "executed": at_executed, "closed": at_closed,
}


# -- the actions, by a second officer at T1 -------------------------------------------------

def act_decide(case: EnforcementCase) -> None:
    # The decision each state could take: the simple procedure straight from filing,
    # the ordinary one (the reviewed proposal) after an investigation.
    _decide(case, FINE_SIMPLE if case.state is S.FILED else FINE_ORDINARY, "ZF-0002", T1)


ACTIONS: dict[str, tuple[str, Callable[[EnforcementCase], None]]] = {
    "file": ("ZF-0002", lambda c: c.file(VENDING, "ZF20260302000002", "ZF-0002", T1, POLICY,
                                         "evidence sufficient")),
    "not_file": ("ZF-0002", lambda c: c.not_file("no_violation", "gone", "ZF-0002", T1)),
    "investigate": ("ZF-0002", lambda c: c.start_investigation("ZF-0002", T1, "site visit")),
    "request_review": ("ZF-0002", lambda c: c.request_review(FINE_ORDINARY, "ZF-0002", T1)),
    "approve_review": ("FZ-0009", lambda c: c.complete_review("FZ-0009", True, "ok", T1)),
    "refuse_review": ("FZ-0009", lambda c: c.complete_review("FZ-0009", False, "no", T1)),
    "decide": ("ZF-0002", act_decide),
    "deliver": ("ZF-0002", lambda c: c.deliver("ZF-0002", T1, "in_person")),
    "execute": ("ZF-0002", lambda c: c.execute("ZF-0002", T1, "fine paid")),
    "close": ("ZF-0002", lambda c: c.close("ZF-0002", T1, None)),
}

# (scenario, action) -> the state after it. Everything not listed must be refused.
ALLOWED: dict[tuple[str, str], CaseState] = {
    ("lead", "file"): S.FILED,
    ("lead", "not_file"): S.NOT_FILED,
    ("filed", "investigate"): S.INVESTIGATION,
    ("filed", "decide"): S.DECIDED,  # simple procedure
    ("investigation", "request_review"): S.LEGAL_REVIEW,
    ("investigation", "decide"): S.DECIDED,  # ordinary, not major
    ("review_pending", "approve_review"): S.LEGAL_REVIEW,  # approved: stays, may decide
    ("review_pending", "refuse_review"): S.INVESTIGATION,
    ("review_approved", "decide"): S.DECIDED,
    ("decided", "deliver"): S.DELIVERED,
    ("delivered_fine", "execute"): S.EXECUTED,
    ("delivered_warning", "close"): S.CLOSED,  # nothing to execute
    ("executed", "close"): S.CLOSED,
}
PAIRS = [(s, a) for s in SCENARIOS for a in ACTIONS]
REFUSED = [p for p in PAIRS if p not in ALLOWED]


def test_the_scenarios_cover_every_state() -> None:
    assert {SCENARIOS[s]().state for s in SCENARIOS} == set(CaseState)


def test_the_allowed_actions_take_every_transition_of_the_table_and_no_other() -> None:
    taken = set()
    for (scenario, _), target in ALLOWED.items():
        source = SCENARIOS[scenario]().state
        if source is not target:
            taken.add((source, target))
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert taken == table


@pytest.mark.parametrize(("scenario", "action"), list(ALLOWED))
def test_allowed_action_moves_the_case_and_records_the_step(scenario: str, action: str
                                                             ) -> None:
    case = SCENARIOS[scenario]()
    before = case.state
    recorded = len(case.steps)
    actor, act = ACTIONS[action]
    act(case)
    target = ALLOWED[(scenario, action)]
    assert case.state is target
    new = case.steps[recorded:]
    if target is before:  # an approved review: no move, the decision may follow
        assert new == [] and case.review is not None and case.review.approved is True
        return
    assert len(new) == 1
    step = new[0]
    assert (step.from_state, step.to_state, step.actor, step.at) == (before, target, actor, T1)


@pytest.mark.parametrize(("scenario", "action"), REFUSED)
def test_refused_action_is_a_conflict_and_changes_nothing(scenario: str, action: str) -> None:
    case = SCENARIOS[scenario]()
    untouched = copy.deepcopy(case)
    with pytest.raises(Conflict) as refused:
        ACTIONS[action][1](case)
    assert case == untouched
    if isinstance(refused.value, IllegalTransition):
        assert refused.value.current is untouched.state
        assert f"is {untouched.state}" in str(refused.value)
