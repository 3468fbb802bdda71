"""Public disclosure (行政执法公示) of decisions, built from whitelisted fields only.

A disclosure never carries a phone number, an ID number, an address or an
individual's full name: an individual party appears as "张**". Organisations
(legal persons) are named in full, as the Administrative Penalty Law expects.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from civicgrid_enforcement.domain.calendar import CITY_TZ, end_of_working_days
from civicgrid_enforcement.domain.discretion import Decision, PartyType
from civicgrid_enforcement.reference.catalog import Measure, Violation

MEASURE_NAMES: dict[Measure, str] = {
    Measure.WARNING: "警告",
    Measure.ORDER_TO_CORRECT: "责令改正",
    Measure.CONFISCATION_OF_ILLEGAL_GAINS: "没收违法所得",
    Measure.CONFISCATION_OF_PROPERTY: "没收非法财物",
    Measure.SUSPENSION: "责令停产停业",
    Measure.LICENCE_REVOCATION: "吊销许可证件",
    Measure.CLOSURE: "责令关闭",
    Measure.DEMOLITION: "限期拆除",
}


def mask_name(name: str) -> str:
    """First character and two stars, whatever the length: "张三丰" → "张**"."""
    name = name.strip()
    return f"{name[0]}**" if name else "**"


def party_label(party_type: PartyType, name: str | None) -> str:
    if not name:
        return "（未公开）"
    if party_type is PartyType.INDIVIDUAL:
        return mask_name(name)
    return name


def penalty_text(decision: Decision) -> str:
    """e.g. "罚款200元；警告" — amounts and measure names only."""
    parts = [f"罚款{decision.fine_yuan}元"] if decision.fine_yuan else []
    parts += [MEASURE_NAMES[m] for m in decision.measures]
    if decision.kind == "exempted":
        return "首次违法且及时改正，依法不予行政处罚" + (
            "；" + "；".join(parts) if parts else "")
    if decision.kind == "no_violation":
        return "违法事实不成立，不予行政处罚"
    return "；".join(parts)


def disclosure_due(decided_at: datetime, working_days: int) -> datetime:
    """End of the n-th working day after the decision day (city calendar)."""
    return end_of_working_days(decided_at, working_days)


class DisclosureContent(BaseModel):
    """Exactly what is published. Adding a field here is a privacy decision."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    disclosure_id: uuid.UUID
    case_number: str
    violation_code: str
    violation: str
    legal_basis: str
    decision: str  # penalty | exempted | no_violation
    procedure: str
    penalty: str
    fine_yuan: int
    party_type: str
    party: str  # masked for individuals
    decided_on: date
    team_unit_id: str
    team: str
    disclosed_at: datetime


def build_disclosure(*, disclosure_id: uuid.UUID, case_number: str, violation: Violation,
                     decision: Decision, decided_at: datetime, party_name: str | None,
                     team_unit_id: str, team_name: str, disclosed_at: datetime
                     ) -> DisclosureContent:
    return DisclosureContent(
        disclosure_id=disclosure_id,
        case_number=case_number,
        violation_code=violation.code,
        violation=violation.name,
        legal_basis=violation.legal_basis,
        decision=decision.kind.value,
        procedure=decision.procedure.value,
        penalty=penalty_text(decision),
        fine_yuan=decision.fine_yuan,
        party_type=decision.party_type.value,
        party=party_label(decision.party_type, party_name),
        decided_on=decided_at.astimezone(CITY_TZ).date(),
        team_unit_id=team_unit_id,
        team=team_name,
        disclosed_at=disclosed_at,
    )
