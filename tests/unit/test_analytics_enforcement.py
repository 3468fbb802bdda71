"""Enforcement indicators (pure): enforcement's events as facts, and the figures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from civicgrid_analytics import enforcement_events as ev
from civicgrid_analytics.adapters.enforcement_sql import (
    CASE_AGGREGATES,
    INSPECTION_AGGREGATES,
    EnforcementQuery,
)
from civicgrid_analytics.domain import enforcement as facts
from civicgrid_analytics.domain.enforcement import EnforcementGroup, combine, finish, merge
from civicgrid_analytics.service_layer.enforcement import routes
from civicgrid_shared.contracts.envelope import EventPayload

AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TEAM = "township-140502001-enforcement"


def _event_types(models: Any) -> set[str]:
    return {m.event_type for m in models}


def test_the_readers_match_enforcements_own_events() -> None:
    from civicgrid_enforcement.domain import events as own

    theirs = {m.event_type: m for m in vars(own).values()
              if isinstance(m, type) and issubclass(m, EventPayload) and m is not EventPayload}
    for reader in ev.READS:
        model = theirs[reader.event_type]
        assert reader.schema_version == model.schema_version
        assert set(reader.model_fields) <= set(model.model_fields), reader.event_type
    assert _event_types(routes()) == _event_types(ev.READS)


def test_events_become_one_fact_row_per_case_and_extra_fields_are_ignored() -> None:
    cid = uuid.uuid4()
    lead = ev.LeadCreated.model_validate({
        "enforcement_case_id": str(cid), "source": "patrol", "team_unit_id": TEAM,
        "territory": {"county_code": "140502", "township_code": "140502001",
                      "grid_code": "x"},
        "created_at": AT.isoformat(), "violation_code": "SV-002", "unknown": 1})
    decision = ev.DecisionMade(enforcement_case_id=cid, team_unit_id=TEAM, kind="penalty",
                               fine_yuan=200, decided_at=AT)
    row: dict[str, Any] = {}
    for key, update in (facts.lead_created(lead), facts.decision_made(decision)):
        assert key == cid
        merge(row, update)
    assert row["county_code"] == "140502" and row["decision_kind"] == "penalty"
    assert row["fine_yuan"] == 200 and row["lead_at"] == AT
    merge(row, {"county_code": None})  # a missing value never erases a known one
    assert row["county_code"] == "140502"


def test_an_inspection_saves_one_visit_per_department_but_the_first() -> None:
    iid = uuid.uuid4()
    done = ev.InspectionCompleted(inspection_id=iid, team_unit_id=TEAM,
                                  departments=["a", "b", "c"], inspections_saved=2,
                                  violations_found=1, performed_at=AT)
    key, update = facts.inspection_completed(done)
    assert key == iid and update["departments"] == 3 and update["inspections_saved"] == 2


def test_finish_counts_and_the_on_time_rate() -> None:
    out = finish({"disclosures": 4, "disclosures_on_time": 3, "penalties": 2,
                  "fines_yuan": 400})
    assert out["disclosure_on_time_rate"] == 0.75 and out["fines_yuan"] == 400
    assert out["joint_inspections"] == 0
    assert finish({})["disclosure_on_time_rate"] is None


def test_combine_puts_cases_and_inspections_together_by_key() -> None:
    cases = [
        {"key": None, "is_total": True, "cases_filed": 3, "decisions": 2},
        {"key": TEAM, "is_total": False, "cases_filed": 2, "decisions": 2},
        {"key": "other-team", "is_total": False, "cases_filed": 1, "decisions": 0},
    ]
    inspections = [
        {"key": None, "is_total": True, "joint_inspections": 2, "inspections_saved": 3},
        {"key": TEAM, "is_total": False, "joint_inspections": 1, "inspections_saved": 2},
        {"key": "third-team", "is_total": False, "joint_inspections": 1,
         "inspections_saved": 1},
    ]
    out = combine(cases, inspections, grouped=True)
    assert out["total"]["cases_filed"] == 3 and out["total"]["inspections_saved"] == 3
    rows = {r["key"]: r for r in out["rows"]}
    assert [r["key"] for r in out["rows"]] == ["other-team", "third-team", TEAM]
    assert rows[TEAM]["decisions"] == 2 and rows[TEAM]["inspections_saved"] == 2
    assert rows["third-team"]["cases_filed"] == 0
    assert rows["other-team"]["joint_inspections"] == 0
    assert combine(cases, inspections, grouped=False)["rows"] == []


def test_combine_puts_the_unknown_key_last() -> None:
    rows = [{"key": None, "is_total": False, "cases_filed": 1},
            {"key": "140502", "is_total": False, "cases_filed": 2}]
    assert [r["key"] for r in combine(rows, [], grouped=True)["rows"]] == ["140502", None]


def test_the_queries_count_by_event_time_and_group_by_the_chosen_column() -> None:
    assert set(CASE_AGGREGATES) | set(INSPECTION_AGGREGATES) | {"disclosure_on_time_rate"} \
        == set(facts.FIELDS)
    q = EnforcementQuery(AT, None, EnforcementGroup.COUNTY)
    assert "GROUPING SETS ((county_code), ())" in q.case_sql()
    assert "GROUP BY" not in q.inspection_sql()  # inspections carry no place
    team = EnforcementQuery(None, None, EnforcementGroup.TEAM)
    assert "GROUPING SETS ((team_unit_id), ())" in team.inspection_sql()
    assert q.params == [AT, None]
