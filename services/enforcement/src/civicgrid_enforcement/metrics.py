"""Enforcement's domain metrics. Bounded labels only: no case ids, parties or officers."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

LEADS = Counter("civicgrid_enforcement_leads_total", "Leads opened, by source.", ["source"])
CASES_FILED = Counter("civicgrid_enforcement_cases_filed_total",
                      "Enforcement cases filed (立案), by violation category.", ["category"])
CASES_NOT_FILED = Counter("civicgrid_enforcement_cases_not_filed_total",
                          "Leads not filed, by reason code.", ["reason"])
DECISIONS = Counter("civicgrid_enforcement_decisions_total",
                    "Decisions made, by kind and procedure.", ["kind", "procedure"])
PENALTIES_YUAN = Counter("civicgrid_enforcement_penalties_yuan_total",
                         "Sum of fines decided, in yuan, by party type.", ["party_type"])
EXEMPTIONS = Counter("civicgrid_enforcement_exemptions_total",
                     "First-offence exemptions granted (首次不罚).")
MAJOR_DECISIONS = Counter("civicgrid_enforcement_major_decisions_total",
                          "Major decisions made after legal review.")
CASES_CLOSED = Counter("civicgrid_enforcement_cases_closed_total", "Cases closed, by outcome.",
                       ["outcome"])
DISCLOSURES = Counter("civicgrid_enforcement_disclosures_total",
                      "Decisions disclosed, on time or late.", ["timeliness"])
DISCLOSURES_FLAGGED = Counter("civicgrid_enforcement_disclosures_flagged_overdue_total",
                              "Disclosures flagged overdue by the periodic check.")
DISCLOSURES_OVERDUE = Gauge("civicgrid_enforcement_disclosures_overdue",
                            "Decisions past their disclosure deadline and not disclosed.")
DECISION_WARNINGS = Counter("civicgrid_enforcement_decision_deadline_warnings_total",
                            "Cases warned near the 90-day filing-to-decision limit.")
DECISIONS_OVERDUE_FLAGGED = Counter("civicgrid_enforcement_decision_overdue_flagged_total",
                                    "Cases flagged past the 90-day limit.")
CASES_OVERDUE = Gauge("civicgrid_enforcement_cases_overdue",
                      "Open cases past the filing-to-decision limit.")
JOINT_INSPECTIONS = Counter("civicgrid_enforcement_joint_inspections_total",
                            "Joint inspections (综合查一次) completed.")
INSPECTIONS_SAVED = Counter("civicgrid_enforcement_inspections_saved_total",
                            "Separate visits saved by joint inspections (departments - 1).")
