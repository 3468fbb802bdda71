"""Enforcement indicators (综合行政执法): facts from enforcement's events, and the figures.

One fact row per enforcement case (keyed by its id) and one per joint inspection (keyed
by the inspection id): a redelivered or replayed event sets the same columns to the same
values, so it counts once. Every count is by event time: a case filed in the window, a
decision made in it, a disclosure published in it, an inspection performed in it.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from civicgrid_analytics import enforcement_events as ev
from civicgrid_analytics.domain.indicators import rate

#: enforcement_case_facts' columns, in their SQL types (every one set by one event type)
CASE_COLUMNS: dict[str, str] = {
    "team_unit_id": "text",
    "county_code": "text",
    "township_code": "text",
    "source": "text",
    "lead_at": "timestamptz",
    "filed_at": "timestamptz",
    "decided_at": "timestamptz",
    "decision_kind": "text",
    "fine_yuan": "integer",
    "disclosed_at": "timestamptz",
    "disclosed_on_time": "boolean",
    "closed_at": "timestamptz",
    "outcome": "text",
}
INSPECTION_COLUMNS: dict[str, str] = {
    "team_unit_id": "text",
    "performed_at": "timestamptz",
    "departments": "integer",
    "inspections_saved": "integer",
    "violations_found": "integer",
}

CaseUpdate = tuple[uuid.UUID, dict[str, Any]]


def lead_created(e: ev.LeadCreated) -> CaseUpdate:
    t = e.territory
    return e.enforcement_case_id, {"team_unit_id": e.team_unit_id, "source": e.source,
                                   "county_code": t.county_code,
                                   "township_code": t.township_code, "lead_at": e.created_at}


def case_filed(e: ev.CaseFiled) -> CaseUpdate:
    return e.enforcement_case_id, {"team_unit_id": e.team_unit_id, "filed_at": e.filed_at}


def decision_made(e: ev.DecisionMade) -> CaseUpdate:
    return e.enforcement_case_id, {"team_unit_id": e.team_unit_id, "decided_at": e.decided_at,
                                   "decision_kind": e.kind, "fine_yuan": e.fine_yuan}


def disclosed(e: ev.Disclosed) -> CaseUpdate:
    return e.enforcement_case_id, {"team_unit_id": e.team_unit_id,
                                   "disclosed_at": e.disclosed_at,
                                   "disclosed_on_time": e.on_time}


def case_closed(e: ev.CaseClosed) -> CaseUpdate:
    return e.enforcement_case_id, {"team_unit_id": e.team_unit_id, "closed_at": e.closed_at,
                                   "outcome": e.outcome}


def inspection_completed(e: ev.InspectionCompleted) -> CaseUpdate:
    # One visit replaced one per department: enforcement says how many were saved
    # (departments - 1); never below zero.
    return e.inspection_id, {"team_unit_id": e.team_unit_id, "performed_at": e.performed_at,
                             "departments": len(e.departments),
                             "inspections_saved": max(0, e.inspections_saved),
                             "violations_found": e.violations_found}


def merge(into: dict[str, Any], update: dict[str, Any]) -> None:
    """Later values win, but a missing (None) value never erases a known one."""
    for k, v in update.items():
        if v is not None or k not in into:
            into[k] = v


class EnforcementGroup(StrEnum):
    """How the enforcement indicators may be grouped, and the fact column of each."""

    TEAM = "team"
    COUNTY = "county"
    TOWNSHIP = "township"

    @property
    def column(self) -> str:
        return {"team": "team_unit_id", "county": "county_code",
                "township": "township_code"}[self.value]


#: counts over case facts, and over inspection facts (see README for the words)
CASE_COUNTS = ("leads", "cases_filed", "decisions", "penalties", "fines_yuan", "exemptions",
               "no_violation", "disclosures", "disclosures_on_time", "cases_closed")
INSPECTION_COUNTS = ("joint_inspections", "inspections_saved", "violations_found")
FIELDS = (*CASE_COUNTS, *INSPECTION_COUNTS, "disclosure_on_time_rate")


def finish(raw: dict[str, Any]) -> dict[str, int | float | None]:
    """The figures of one group: every count (0 when absent) and the on-time rate."""
    out: dict[str, int | float | None] = {
        n: int(raw.get(n) or 0) for n in (*CASE_COUNTS, *INSPECTION_COUNTS)}
    out["disclosure_on_time_rate"] = rate(int(out["disclosures_on_time"] or 0),
                                          int(out["disclosures"] or 0))
    return out


def combine(case_rows: list[dict[str, Any]], inspection_rows: list[dict[str, Any]],
            grouped: bool) -> dict[str, Any]:
    """Put the case and inspection aggregates together: ``total`` and ``rows`` by key.

    Each input row has ``key``, ``is_total`` and its counts. A key known to only one side
    gets zeros from the other. Rows are ordered by key, the unknown key (None) last.
    """
    totals: dict[str, Any] = {}
    by_key: dict[str | None, dict[str, Any]] = {}
    for r in (*case_rows, *inspection_rows):
        counts = {k: v for k, v in r.items() if k not in ("key", "is_total")}
        if r["is_total"]:
            totals.update(counts)
        else:
            by_key.setdefault(r["key"], {}).update(counts)
    rows = [{"key": k, **finish(v)}
            for k, v in sorted(by_key.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))]
    return {"total": finish(totals), "rows": rows if grouped else []}
