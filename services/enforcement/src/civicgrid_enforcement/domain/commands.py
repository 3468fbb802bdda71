"""Commands enforcement accepts (the HTTP bodies). Unknown fields are refused."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from civicgrid_enforcement.domain.discretion import DecisionKind, PartyType, Procedure
from civicgrid_enforcement.reference.catalog import Measure, Severity

# Pseudonymous officer ids (执法证号-like codes), never names.
OfficerId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{2,31}$")]
GridCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{20}$")]
ViolationCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-\d{3}$")]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
MediaUri = Annotated[str, StringConstraints(
    pattern=r"^(https|s3|oss|minio|evidence)://[^\s]{1,500}$", max_length=512)]
# 统一社会信用代码: identifies a business, not a person.
CreditCode = Annotated[str, StringConstraints(
    pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class MediaKind(StrEnum):
    PHOTO = "photo"
    VIDEO = "video"  # 执法记录仪
    AUDIO = "audio"
    DOCUMENT = "document"


class Evidence(_Command):
    """A reference to stored media: where it is and its SHA-256, never the media."""

    uri: MediaUri
    sha256: Sha256
    media_kind: MediaKind
    recorder_id: OfficerId
    recorded_at: AwareDatetime
    grid_code: GridCode  # where, coarse: the grid only
    note: ShortText | None = None


class PatrolLead(_Command):
    """A patrol finding (巡查发现) of the team."""

    officer_id: OfficerId
    grid_code: GridCode
    description: Text
    violation_code: ViolationCode | None = None
    evidence: Annotated[list[Evidence], Field(max_length=50)] = []


class Party(_Command):
    """The party (当事人). Stored apart from the case; never logged, sent or disclosed."""

    party_type: PartyType
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    id_number: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{15,18}$")] | None = None
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None
    address: Annotated[str, StringConstraints(max_length=200)] | None = None


class FileCase(_Command):
    officer_id: OfficerId
    violation_code: ViolationCode | None = Field(
        default=None, description="Defaults to the violation suggested by the lead.")
    party: Party
    reason: ShortText | None = None


class NotFiledReason(StrEnum):
    NO_VIOLATION = "no_violation"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"
    TRANSFERRED = "transferred"  # another department's power
    TIME_BARRED = "time_barred"
    DUPLICATE = "duplicate"
    OTHER = "other"


class NotFile(_Command):
    officer_id: OfficerId
    reason_code: NotFiledReason
    reason: ShortText


class Step(_Command):
    officer_id: OfficerId
    reason: ShortText | None = None


class DecisionFields(_Command):
    kind: DecisionKind
    procedure: Procedure
    severity: Severity | None = None
    fine_yuan: Annotated[int, Field(ge=0, le=100_000_000)] = 0
    measures: Annotated[list[Measure], Field(max_length=8)] = []
    first_offence: bool = False
    corrected: bool = False


class ReviewRequest(_Command):
    officer_id: OfficerId
    proposal: DecisionFields


class ReviewResult(_Command):
    reviewer_id: OfficerId
    approved: bool
    opinion: ShortText


class Decide(DecisionFields):
    officer_id: OfficerId
    reason: ShortText
    delivered_on_the_spot: bool = Field(
        default=False, description="Simple procedure: the decision was handed over on the "
                                   "spot (当场交付), so it is delivered at once.")


class DeliveryMethod(StrEnum):
    IN_PERSON = "in_person"
    POST = "post"
    ELECTRONIC = "electronic"
    ANNOUNCEMENT = "announcement"


class Deliver(_Command):
    officer_id: OfficerId
    method: DeliveryMethod


class Disclose(_Command):
    officer_id: OfficerId


class DepartmentChecklist(_Command):
    department_kind: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")]
    items: Annotated[list[ViolationCode], Field(min_length=1, max_length=60)] | None = Field(
        default=None, description="Violation codes to check; default: all of the department's")


class PlanInspection(_Command):
    officer_id: OfficerId
    grid_code: GridCode
    business_ref: CreditCode
    planned_for: date
    departments: Annotated[list[DepartmentChecklist], Field(min_length=2, max_length=12)]


class ConfirmInspection(_Command):
    officer_id: OfficerId


class FoundViolation(_Command):
    violation_code: ViolationCode
    note: ShortText | None = None
    evidence: Annotated[list[Evidence], Field(max_length=50)] = []


class InspectionResults(_Command):
    officer_id: OfficerId
    performed_at: AwareDatetime
    violations: Annotated[list[FoundViolation], Field(max_length=60)] = []
