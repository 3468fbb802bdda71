"""Fact updates merge by column policy: any order of a case's events gives the same row."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from civicgrid_analytics.domain import facts
from civicgrid_shared.contracts.events import (
    AppealReceived,
    CaseAssigned,
    CaseCalledBack,
    CaseClosed,
    CaseEscalated,
    CaseExtensionDecided,
    CaseRegistered,
    CaseReopened,
    CaseResolved,
    CaseReturned,
    CaseSignedFor,
    Channel,
    EscalationKind,
    HistoricalRecord,
    Satisfaction,
    TerritoryRef,
)
from hypothesis import given, settings
from hypothesis import strategies as st

T0 = datetime(2025, 3, 3, 1, tzinfo=UTC)
A, C = uuid.uuid4(), uuid.uuid4()
TERR = TerritoryRef(county_code="140502", township_code="140502001",
                    community_code="140502001001", grid_code="1" * 20)


def h(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def lifecycle() -> list[facts.FactUpdate]:
    """Received, assigned, returned, reassigned, extended, resolved, reopened, resolved,
    called back, closed: the updates analytics makes of them."""
    return [
        facts.appeal_received(AppealReceived(
            appeal_id=A, tracking_code="T1", channel=Channel.GRID_APP, received_at=h(0),
            content="x", territory=TERR, grid_worker_id="gw-7")),
        facts.case_registered(CaseRegistered(
            case_id=C, appeal_id=A, case_number="N1", channel=Channel.GRID_APP,
            matter_code="SZ-001", category_code="SZ", priority="normal", territory=TERR,
            received_at=h(0), registered_at=h(0.1))),
        facts.case_assigned(CaseAssigned(
            case_id=C, appeal_id=A, unit_id="u-first", tier="township", assigned_at=h(0.2),
            sign_for_due=h(2), resolve_due=h(48))),
        facts.case_returned(CaseReturned(
            case_id=C, appeal_id=A, unit_id="u-first", reason="not ours", return_count=1,
            returned_at=h(1))),
        facts.case_assigned(CaseAssigned(
            case_id=C, appeal_id=A, unit_id="u-second", tier="county", assigned_at=h(1.5),
            sign_for_due=h(3), resolve_due=h(72), reason="redispatch")),
        facts.case_signed_for(CaseSignedFor(
            case_id=C, appeal_id=A, unit_id="u-second", signed_at=h(2), on_time=True)),
        facts.extension_decided(CaseExtensionDecided(
            case_id=C, appeal_id=A, unit_id="u-second", granted=True, resolve_due=h(96),
            decided_at=h(10))),
        facts.case_escalated(CaseEscalated(
            case_id=C, appeal_id=A, from_unit_id="u-second", to_unit_ids=["u-x"],
            to_tier="county", kind=EscalationKind.WHISTLE, reason="r", escalated_at=h(11))),
        facts.case_resolved(CaseResolved(
            case_id=C, appeal_id=A, unit_id="u-second", result="r", on_time=True,
            resolved_at=h(20))),
        facts.case_called_back(CaseCalledBack(
            case_id=C, appeal_id=A, unit_id="u-second", solved=False,
            satisfaction=Satisfaction.NOT_SATISFIED, called_back_at=h(22))),
        facts.case_reopened(CaseReopened(
            case_id=C, appeal_id=A, unit_id="u-second", reopen_count=1, reason="no",
            reopened_at=h(23))),
        facts.case_resolved(CaseResolved(
            case_id=C, appeal_id=A, unit_id="u-second", result="r2", on_time=False,
            resolved_at=h(100))),
        facts.case_called_back(CaseCalledBack(
            case_id=C, appeal_id=A, unit_id="u-second", solved=True,
            satisfaction=Satisfaction.BASICALLY_SATISFIED, called_back_at=h(101))),
        facts.case_closed(CaseClosed(
            case_id=C, appeal_id=A, unit_id="u-second", on_time=False, closed_at=h(102))),
    ]


def merged(updates: list[facts.FactUpdate]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for appeal_id, update in updates:
        assert appeal_id == A
        facts.merge(row, update)
    return row


def test_the_row_holds_the_whole_life_cycle() -> None:
    row = merged(lifecycle())
    assert row["received_at"] == h(0) and row["registered_at"] == h(0.1)
    assert row["assigned_at"] == h(0.2)  # the first assignment is the one counted
    assert row["unit_id"] == "u-second" and row["tier"] == "county"  # the latest lead unit
    assert row["resolve_due"] == h(72) and row["extended_due"] == h(96)
    assert row["signed_at"] == h(2) and row["signed_on_time"] is True
    assert row["return_count"] == 1 and row["reopen_count"] == 1
    assert row["escalation_count"] == 1 and row["whistle_blown"] is True
    assert row["resolved_at"] == h(100) and row["resolved_on_time"] is False
    assert row["callback_solved"] is True
    assert row["callback_satisfaction"] == "basically_satisfied"
    assert row["closed_at"] == h(102) and row["closed_on_time"] is False
    assert row["grid_worker_id"] == "gw-7" and row["matter_code"] == "SZ-001"


@settings(max_examples=200, deadline=None)
@given(st.permutations(lifecycle()))
def test_any_arrival_order_gives_the_same_row(order: list[facts.FactUpdate]) -> None:
    assert merged(order) == merged(lifecycle())


@settings(max_examples=100, deadline=None)
@given(st.permutations(lifecycle()), st.integers(min_value=0, max_value=14))
def test_merging_batches_equals_merging_events(order: list[facts.FactUpdate],
                                              cut: int) -> None:
    """What the upsert does with a stored row and a batch: merge two partial rows."""
    first, second = merged(order[:cut]), merged(order[cut:])
    row = dict(first)
    facts.merge(row, second)
    assert row == merged(lifecycle())


def test_counts_come_from_the_payload_not_from_increments() -> None:
    returned = facts.case_returned(CaseReturned(
        case_id=C, appeal_id=A, unit_id="u", reason="r", return_count=2, returned_at=h(1)))
    row = merged([returned, returned, returned])
    assert row["return_count"] == 2


def test_historical_cases_carry_their_agency() -> None:
    _, update = facts.case_assigned(CaseAssigned(
        case_id=C, appeal_id=A, unit_id="history-dot", tier="city", assigned_at=h(0),
        sign_for_due=h(1), resolve_due=h(2)))
    assert update["unit_id"] == "history-dot" and "history_agency" not in update
    _, received = facts.appeal_received(AppealReceived(
        appeal_id=A, tracking_code="T", channel=Channel.HOTLINE, received_at=h(0),
        content="x", history=HistoricalRecord(source="nyc-311-2011", created_at=h(0),
                                              status="Closed", agency="DOT")))
    assert received["history_source"] == "nyc-311-2011"
    assert received["history_agency"] == "DOT"


def test_every_column_has_a_known_policy() -> None:
    for column, (_, rule) in facts.COLUMNS.items():
        assert rule in {"any", "least", "greatest", "sum"} or (
            rule.startswith("follows:") and rule.removeprefix("follows:") in facts.COLUMNS
        ), column


def test_an_update_the_store_cannot_hold_says_which_column_and_why() -> None:
    assert facts.unstorable({"return_count": 2**31 - 1, "case_number": "B1"}) is None
    assert facts.unstorable({"return_count": -(2**31)}) is None
    assert facts.unstorable({"return_count": 2**31}) == \
        "return_count: beyond the range of the store's integers"
    assert facts.unstorable({"handed_over_to": "mediation\x00"}) == \
        "handed_over_to: contains a NUL character"
    assert facts.unstorable({"signed_on_time": True}) is None  # a bool is no count
