"""Enforcement's domain, pure: life cycle, discretion, simple procedure, first-offence
exemption, hash chain, disclosure deadlines and redaction, joint inspections."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from civicgrid_enforcement.domain import calendar, chain
from civicgrid_enforcement.domain.calendar import CITY_TZ, nth_working_day_after
from civicgrid_enforcement.domain.case import (
    TRANSITIONS,
    CaseState,
    EnforcementCase,
    IllegalTransition,
    Source,
    decision_deadline_status,
)
from civicgrid_enforcement.domain.disclosure import (
    DisclosureContent,
    build_disclosure,
    disclosure_due,
    mask_name,
)
from civicgrid_enforcement.domain.discretion import (
    Decision,
    DecisionKind,
    PartyType,
    Policy,
    Procedure,
    assess,
)
from civicgrid_enforcement.domain.errors import Conflict, OutsideDiscretion, Rejected
from civicgrid_enforcement.domain.inspection import InspectionState, JointInspection
from civicgrid_enforcement.reference.catalog import Measure, Severity, Violation, load_catalog

CATALOG = load_catalog()


def violation(code: str) -> Violation:
    found = CATALOG.violation(code)
    assert found is not None
    return found


VENDING = violation("SV-001")  # township may enforce, exemption allowed
BUILDING = violation("IC-001")  # no exemption; demolition is major
UNLICENSED = violation("UB-001")  # market supervision's power, not delegated
POLICY = Policy()
T0 = datetime(2025, 9, 1, 9, 0, tzinfo=UTC)
S = CaseState

WARNING = Decision(DecisionKind.PENALTY, Procedure.SIMPLE, PartyType.INDIVIDUAL,
                   Severity.MINOR, 0, (Measure.WARNING,))
FINE_100 = Decision(DecisionKind.PENALTY, Procedure.SIMPLE, PartyType.INDIVIDUAL,
                    Severity.GENERAL, 100, (Measure.ORDER_TO_CORRECT,))


def lead() -> EnforcementCase:
    return EnforcementCase.open_lead(uuid.uuid4(), Source.PATROL, "team-1", "140502001", T0,
                                     "ZF-0001", "patrol finding")


def filed(v: Violation = VENDING) -> EnforcementCase:
    case = lead()
    case.file(v, "ZF20250901000001", "ZF-0001", T0, POLICY)
    return case


def decided(decision: Decision = WARNING) -> EnforcementCase:
    case = filed()
    case.decide(decision, assess(VENDING, decision, POLICY), "ZF-0001", T0, POLICY)
    return case


def ordinary(d: Decision) -> Decision:
    return replace(d, procedure=Procedure.ORDINARY)


# -- the life cycle ------

def test_full_ordinary_life_cycle_records_every_step() -> None:
    case = filed()
    case.start_investigation("ZF-0001", T0, "site visit")
    fine = ordinary(FINE_100)
    case.decide(fine, assess(VENDING, fine, POLICY), "ZF-0001", T0, POLICY)
    case.deliver("ZF-0001", T0, "in_person")
    case.execute("ZF-0001", T0, "fine paid")
    case.close("ZF-0001", T0, None)
    assert case.state is S.CLOSED
    assert [s.to_state for s in case.steps] == [
        S.LEAD, S.FILED, S.INVESTIGATION, S.DECIDED, S.DELIVERED, S.EXECUTED, S.CLOSED]
    assert all(s.actor == "ZF-0001" for s in case.steps[1:])
    assert case.decision_due == T0 + timedelta(days=90)


def test_lead_can_be_not_filed_with_a_reason_and_then_nothing_more() -> None:
    case = lead()
    case.not_file("no_violation", "stall already gone", "ZF-0001", T0)
    assert case.state is S.NOT_FILED
    assert (case.steps[-1].reason or "").startswith("no_violation")
    with pytest.raises(IllegalTransition):
        case.start_investigation("ZF-0001", T0, None)
    with pytest.raises(IllegalTransition):
        case.file(VENDING, "N", "ZF-0001", T0, POLICY)
    with pytest.raises(IllegalTransition):
        case.close("ZF-0001", T0, None)


@pytest.mark.parametrize("state", list(CaseState))
def test_every_transition_outside_the_table_is_refused(state: CaseState) -> None:
    for target in CaseState:
        case = lead()
        case.state = state
        allowed = target in TRANSITIONS[state]
        try:
            case._move(target, "ZF-0001", T0, None)
        except IllegalTransition as exc:
            assert not allowed, f"{state} -> {target} should be allowed"
            assert str(state) in str(exc) and str(target) in str(exc)
            assert isinstance(exc, Conflict)
        else:
            assert allowed, f"{state} -> {target} should be refused"


def test_final_states_allow_nothing() -> None:
    assert TRANSITIONS[S.CLOSED] == frozenset() and TRANSITIONS[S.NOT_FILED] == frozenset()


def test_filing_a_violation_not_delegated_to_townships_is_rejected() -> None:
    with pytest.raises(Rejected, match="market_supervision"):
        lead().file(UNLICENSED, "N", "ZF-0001", T0, POLICY)


def test_filing_twice_is_a_conflict() -> None:
    case = filed()
    with pytest.raises(IllegalTransition):
        case.file(VENDING, "N2", "ZF-0001", T0, POLICY)


def test_warning_closes_after_delivery_without_execution() -> None:
    case = decided(WARNING)
    case.deliver("ZF-0001", T0, "in_person")
    with pytest.raises(IllegalTransition, match="nothing to execute"):
        case.execute("ZF-0001", T0, None)
    case.close("ZF-0001", T0, None)
    assert case.state is S.CLOSED and case.decision and case.decision.outcome == "warning"


def test_a_fine_must_be_executed_before_closing() -> None:
    case = decided(FINE_100)
    case.deliver("ZF-0001", T0, "in_person")
    with pytest.raises(IllegalTransition, match="executed before"):
        case.close("ZF-0001", T0, None)
    case.execute("ZF-0001", T0, "paid")
    case.close("ZF-0001", T0, None)
    assert case.decision and case.decision.outcome == "penalised"


def test_decision_cannot_be_closed_before_delivery() -> None:
    with pytest.raises(IllegalTransition):
        decided(WARNING).close("ZF-0001", T0, None)


# -- legal review ------

MAJOR = Decision(DecisionKind.PENALTY, Procedure.ORDINARY, PartyType.ORGANISATION,
                 Severity.SERIOUS, 300000, (Measure.DEMOLITION,))


def investigating(v: Violation = BUILDING) -> EnforcementCase:
    case = filed(v)
    case.start_investigation("ZF-0001", T0, None)
    return case


def test_major_decision_needs_an_approved_legal_review() -> None:
    case = investigating()
    a = assess(BUILDING, MAJOR, POLICY)
    assert a.major and "fine above 50000 yuan" in a.major_reasons
    with pytest.raises(IllegalTransition, match="legal review"):
        case.decide(MAJOR, a, "ZF-0001", T0, POLICY)
    case.request_review(MAJOR, "ZF-0001", T0)
    with pytest.raises(IllegalTransition, match="not approved"):
        case.decide(MAJOR, a, "ZF-0001", T0, POLICY)
    with pytest.raises(Conflict, match="reviewer must not be"):
        case.complete_review("ZF-0001", True, "ok", T0)
    case.complete_review("FZ-0009", True, "lawful and proportionate", T0)
    other = replace(MAJOR, fine_yuan=400000)
    with pytest.raises(Conflict, match="differs from the proposal"):
        case.decide(other, assess(BUILDING, other, POLICY), "ZF-0001", T0, POLICY)
    case.decide(MAJOR, a, "ZF-0001", T0, POLICY)
    assert case.state is S.DECIDED


def test_review_not_approved_goes_back_to_investigation() -> None:
    case = investigating()
    case.request_review(MAJOR, "ZF-0001", T0)
    case.complete_review("FZ-0009", False, "evidence incomplete", T0)
    assert case.state is S.INVESTIGATION and case.review is None


def test_major_measure_alone_makes_a_decision_major() -> None:
    d = Decision(DecisionKind.PENALTY, Procedure.ORDINARY, PartyType.INDIVIDUAL,
                 Severity.GENERAL, 20000, (Measure.DEMOLITION,))
    a = assess(BUILDING, d, POLICY)
    assert a.major and "measure demolition" in a.major_reasons


def test_configured_major_threshold_lowers_the_catalog_bar() -> None:
    d = ordinary(replace(FINE_100, severity=Severity.SERIOUS, fine_yuan=300,
                         measures=(Measure.ORDER_TO_CORRECT,)))
    assert not assess(VENDING, d, POLICY).major
    strict = Policy(major_fine_individual_over=250)
    assert assess(VENDING, d, strict).major


# -- discretion benchmarks ------

@pytest.mark.parametrize(("severity", "fine", "ok"), [
    (Severity.GENERAL, 50, True), (Severity.GENERAL, 200, True),
    (Severity.GENERAL, 49, False), (Severity.GENERAL, 201, False),
    (Severity.SERIOUS, 500, True), (Severity.SERIOUS, 501, False),
    (Severity.MINOR, 10, False),  # the minor tier has no fine at all
])
def test_fine_must_be_within_the_tier(severity: Severity, fine: int, ok: bool) -> None:
    d = Decision(DecisionKind.PENALTY, Procedure.ORDINARY, PartyType.INDIVIDUAL, severity,
                 fine, ())
    if ok:
        assess(VENDING, d, POLICY)
    else:
        with pytest.raises(OutsideDiscretion, match="SV-001"):
            assess(VENDING, d, POLICY)


def test_organisation_ranges_differ_from_individual_ranges() -> None:
    d = Decision(DecisionKind.PENALTY, Procedure.ORDINARY, PartyType.ORGANISATION,
                 Severity.GENERAL, 800, ())
    assess(VENDING, d, POLICY)
    with pytest.raises(OutsideDiscretion, match="50-200 yuan"):
        assess(VENDING, replace(d, party_type=PartyType.INDIVIDUAL), POLICY)


def test_measure_outside_the_tier_is_refused() -> None:
    d = Decision(DecisionKind.PENALTY, Procedure.ORDINARY, PartyType.INDIVIDUAL,
                 Severity.MINOR, 0, (Measure.CONFISCATION_OF_PROPERTY,))
    with pytest.raises(OutsideDiscretion, match="confiscation_of_property"):
        assess(VENDING, d, POLICY)


def test_penalty_needs_a_severity_and_a_penalty() -> None:
    with pytest.raises(OutsideDiscretion, match="severity"):
        assess(VENDING, replace(WARNING, severity=None), POLICY)
    with pytest.raises(OutsideDiscretion, match="needs a fine or a penalty"):
        assess(VENDING, replace(WARNING, measures=(Measure.ORDER_TO_CORRECT,)), POLICY)


# -- simple procedure ------

def test_simple_procedure_decides_straight_from_filing() -> None:
    case = decided(FINE_100)
    assert case.state is S.DECIDED
    assert [s.to_state for s in case.steps][-2:] == [S.FILED, S.DECIDED]


@pytest.mark.parametrize(("party", "fine", "allowed"), [
    (PartyType.INDIVIDUAL, 200, True), (PartyType.INDIVIDUAL, 201, False),
    (PartyType.ORGANISATION, 3000, True), (PartyType.ORGANISATION, 3001, False),
])
def test_simple_procedure_fine_limits(party: PartyType, fine: int, allowed: bool) -> None:
    storing = violation("SV-005")  # general tier: 200-2000 / 1000-5000
    d = Decision(DecisionKind.PENALTY, Procedure.SIMPLE, party, Severity.GENERAL, fine, ())
    case = filed(storing)
    a = assess(storing, d, POLICY)
    if allowed:
        case.decide(d, a, "ZF-0001", T0, POLICY)
        assert case.state is S.DECIDED
    else:
        with pytest.raises(Rejected, match="simple procedure allows only"):
            case.decide(d, a, "ZF-0001", T0, POLICY)
        assert case.state is S.FILED


def test_simple_procedure_limits_are_configurable() -> None:
    d = replace(FINE_100, fine_yuan=150)
    tight = Policy(simple_fine_individual_max=100)
    with pytest.raises(Rejected):
        filed().decide(d, assess(VENDING, d, tight), "ZF-0001", T0, tight)


def test_ordinary_procedure_cannot_skip_the_investigation() -> None:
    d = ordinary(FINE_100)
    with pytest.raises(IllegalTransition, match="only the simple procedure"):
        filed().decide(d, assess(VENDING, d, POLICY), "ZF-0001", T0, POLICY)


def test_simple_procedure_is_not_used_after_an_investigation() -> None:
    case = investigating(VENDING)
    with pytest.raises(IllegalTransition, match="on the spot"):
        case.decide(FINE_100, assess(VENDING, FINE_100, POLICY), "ZF-0001", T0, POLICY)


# -- first-offence exemption ------

EXEMPT = Decision(DecisionKind.EXEMPTED, Procedure.SIMPLE, PartyType.INDIVIDUAL,
                  Severity.MINOR, 0, (Measure.ORDER_TO_CORRECT,), first_offence=True,
                  corrected=True)


def test_first_offence_corrected_is_exempted() -> None:
    case = decided(EXEMPT)
    assert case.decision and case.decision.outcome == "exempted"
    assert not case.decision.needs_execution


@pytest.mark.parametrize(("change", "why"), [
    ({"corrected": False}, "corrected in time"),
    ({"first_offence": False}, "corrected in time"),
    ({"severity": Severity.SERIOUS}, "minor violations only"),
    ({"fine_yuan": 50}, "no fine"),
])
def test_exemption_conditions(change: dict[str, object], why: str) -> None:
    with pytest.raises(OutsideDiscretion, match=why):
        assess(VENDING, replace(EXEMPT, **change), POLICY)  # type: ignore[arg-type]


def test_exemption_only_where_the_catalog_allows_it() -> None:
    with pytest.raises(OutsideDiscretion, match="does not allow"):
        assess(BUILDING, EXEMPT, POLICY)


# -- the 90-day limit ------

def test_decision_deadline_warning_and_overdue() -> None:
    case = filed()
    assert decision_deadline_status(case, T0 + timedelta(days=74), POLICY) == "ok"
    assert decision_deadline_status(case, T0 + timedelta(days=75), POLICY) == "warning"
    assert decision_deadline_status(case, T0 + timedelta(days=91), POLICY) == "overdue"
    assert decision_deadline_status(decided(), T0 + timedelta(days=200), POLICY) == "n/a"


# -- hash chain ------

def build_chain(n: int) -> list[chain.ChainRecord]:
    records: list[chain.ChainRecord] = []
    for i in range(n):
        records.append(chain.make_record(records[-1] if records else None, "step",
                                         f"2025-09-0{i + 1}T09:00:00+00:00", "ZF-0001",
                                         {"to": f"s{i}", "reason": None}))
    return records


def test_chain_links_each_record_to_the_previous_hash() -> None:
    records = build_chain(4)
    assert records[0].prev_hash == chain.GENESIS
    assert all(r.prev_hash == p.hash for p, r in itertools.pairwise(records))
    v = chain.verify(records)
    assert v.ok and v.records == 4 and v.head == records[-1].hash


def test_hash_is_sha256_over_canonical_json_of_prev_and_record() -> None:
    import hashlib

    rec = build_chain(1)[0]
    expected = hashlib.sha256(json.dumps(
        {"prev": chain.GENESIS, "record": dict(rec.record)}, sort_keys=True,
        separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
    assert rec.hash == expected


def test_tampered_record_is_reported_as_the_first_broken_link() -> None:
    records = build_chain(4)
    tampered = dict(records[1].record, data={"to": "s1", "reason": "changed"})
    records[1] = replace(records[1], record=tampered)
    v = chain.verify(records)
    assert not v.ok and v.broken_at_seq == 2 and "content" in (v.reason or "")
    assert v.head == records[0].hash


def test_removed_or_relinked_records_are_detected() -> None:
    records = build_chain(4)
    v = chain.verify([records[0], records[2], records[3]])
    assert not v.ok and v.broken_at_seq == 3
    forged = chain.make_record(None, "step", "x", "ZF-0001", {})
    v = chain.verify([records[0], replace(forged, seq=2, record={**forged.record, "seq": 2})])
    assert not v.ok and v.broken_at_seq == 2 and "previous-hash" in (v.reason or "")


# -- disclosure ------

def test_disclosure_due_skips_national_day() -> None:
    # Decided Monday 2025-09-29: 30 Sep (1), 1-8 Oct off, 9 (2), 10 (3), Sat 11 make-up
    # day (4), 13 (5), 14 (6), 15 (7).
    decided_at = datetime(2025, 9, 29, 15, 0, tzinfo=CITY_TZ)
    due = disclosure_due(decided_at, 7)
    assert due.date() == date(2025, 10, 15)
    assert due == datetime(2025, 10, 15, 23, 59, 59, 999999, tzinfo=CITY_TZ)


def test_disclosure_due_across_spring_festival_and_a_plain_week() -> None:
    assert nth_working_day_after(date(2025, 1, 27), 1) == date(2025, 2, 5)  # 春节 2025
    assert nth_working_day_after(date(2026, 11, 20), 7) == date(2026, 12, 1)  # Friday


def test_disclosure_due_skips_national_day_2026_and_counts_its_make_up_saturday() -> None:
    # Decided Wednesday 2026-09-30: 1-7 Oct off, Thu 8 (1), Fri 9 (2), Sat 10 make-up
    # day (3), Sun 11 off, 12 (4), 13 (5), 14 (6), Thu 15 (7). Counting weekdays only
    # would give 9 Oct; skipping the holiday without the make-up day, 16 Oct.
    due = disclosure_due(datetime(2026, 9, 30, 16, 30, tzinfo=CITY_TZ), 7)
    assert due == datetime(2026, 10, 15, 23, 59, 59, 999999, tzinfo=CITY_TZ)
    # A decision made on duty during the holiday counts from the first working day.
    assert disclosure_due(datetime(2026, 10, 3, 10, 0, tzinfo=CITY_TZ), 1).date() == \
        date(2026, 10, 8)
    # The other make-up day of that holiday is a Sunday (20 Sep).
    assert nth_working_day_after(date(2026, 9, 18), 1) == date(2026, 9, 20)


def test_disclosure_due_skips_spring_festival_2026_and_counts_both_make_up_saturdays() -> None:
    # Decided Friday 2026-02-13: Sat 14 make-up day (1), 15-23 off, Tue 24 (2), 25 (3),
    # 26 (4), Fri 27 (5), Sat 28 make-up day (6), Sun 1 Mar off, Mon 2 Mar (7).
    # Weekdays only would give Tue 24 Feb; skipping the holiday alone, Wed 4 Mar.
    due = disclosure_due(datetime(2026, 2, 13, 11, 0, tzinfo=CITY_TZ), 7)
    assert due == datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=CITY_TZ)
    # The same decision in UTC late on Friday is Saturday in the city, a make-up day:
    # that day is not counted, the next working day (24 Feb) is the first.
    assert disclosure_due(datetime(2026, 2, 13, 17, 0, tzinfo=UTC), 1).date() == \
        date(2026, 2, 24)


@pytest.fixture
def no_holiday_data(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """chinese-calendar as it answers for a year it has no schedule for yet."""
    def unknown_year(day: date) -> bool:
        raise NotImplementedError(f"no available data for year {day.year}")

    def forget() -> None:  # both are memoised
        calendar.is_working_day.cache_clear()
        calendar.nth_working_day_after.cache_clear()

    forget()
    monkeypatch.setattr(chinese_calendar, "is_workday", unknown_year)
    yield
    forget()


@pytest.mark.usefixtures("no_holiday_data")
def test_a_year_without_holiday_data_counts_weekdays() -> None:
    # Friday → Monday: weekends only, a holiday too early at worst, never late.
    assert nth_working_day_after(date(2026, 2, 13), 1) == date(2026, 2, 16)
    assert nth_working_day_after(date(2026, 2, 13), 7) == date(2026, 2, 24)


def test_disclosure_day_counts_in_city_time() -> None:
    # 17:00 UTC Friday is 01:00 Saturday in the city: the first working day is Monday.
    due = disclosure_due(datetime(2026, 11, 20, 17, 0, tzinfo=UTC), 1)
    assert due.date() == date(2026, 11, 23)


def test_disclosure_is_built_from_whitelisted_fields_and_masks_individuals() -> None:
    content = build_disclosure(
        disclosure_id=uuid.uuid4(), case_number="ZF20250929000001", violation=VENDING,
        decision=FINE_100, decided_at=datetime(2025, 9, 29, 15, 0, tzinfo=CITY_TZ),
        party_name="张三丰", team_unit_id="township-140502001-enforcement",
        team_name="春峰街道综合行政执法队", disclosed_at=datetime(2025, 9, 30, tzinfo=CITY_TZ))
    body = content.model_dump_json()
    assert content.party == "张**" and "三丰" not in body
    assert content.penalty == "罚款100元；责令改正" and content.legal_basis == VENDING.legal_basis
    assert set(DisclosureContent.model_fields) == {
        "disclosure_id", "case_number", "violation_code", "violation", "legal_basis",
        "decision", "procedure", "penalty", "fine_yuan", "party_type", "party", "decided_on",
        "team_unit_id", "team", "disclosed_at"}


def test_mask_name_hides_length() -> None:
    assert mask_name("李四") == mask_name("李四五六") == "李**"


# -- joint inspections ------

def inspection() -> JointInspection:
    return JointInspection(uuid.uuid4(), "team-1", "140502001", "1" * 20, "91140500MA0L00000X",
                           date(2026, 12, 1), {"urban_management": ("SV-001", "AD-002"),
                                               "market_supervision": ("FS-002",),
                                               "fire_rescue": ("WS-001",)}, T0)


def test_joint_inspection_needs_every_confirmation_then_records_results_once() -> None:
    insp = inspection()
    assert insp.inspections_saved == 2
    with pytest.raises(Conflict, match="waiting for departments"):
        insp.record_results([], T0)
    assert insp.confirm("urban_management", "u1", "ZF-1", T0)
    assert not insp.confirm("urban_management", "u1", "ZF-1", T0)  # idempotent
    insp.confirm("market_supervision", "m1", "SC-1", T0)
    insp.confirm("fire_rescue", "f1", "XF-1", T0)
    assert insp.state == InspectionState.CONFIRMED
    with pytest.raises(Rejected, match="not on this inspection"):
        insp.record_results(["NS-001"], T0)
    insp.record_results(["SV-001", "WS-001"], T0)
    assert insp.state.value == "completed"
    with pytest.raises(Conflict, match="already recorded"):
        insp.record_results([], T0)


def test_joint_inspection_combines_at_least_two_departments() -> None:
    with pytest.raises(Rejected):
        JointInspection(uuid.uuid4(), "t", "140502001", "1" * 20, "x", date(2026, 1, 1),
                        {"urban_management": ("SV-001",)}, T0)


def test_unknown_department_cannot_confirm() -> None:
    with pytest.raises(Conflict):
        inspection().confirm("tax", "t1", "SW-1", T0)
