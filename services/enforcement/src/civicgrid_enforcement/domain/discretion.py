"""Discretion benchmarks (裁量权基准), the simple procedure (简易程序), the first-offence
exemption (首次不罚) and what makes a decision major (重大执法决定)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from civicgrid_enforcement.domain.errors import OutsideDiscretion
from civicgrid_enforcement.reference.catalog import Measure, Severity, Violation


class DecisionKind(StrEnum):
    PENALTY = "penalty"  # 行政处罚
    EXEMPTED = "exempted"  # 首次不罚: first minor offence, corrected in time
    NO_VIOLATION = "no_violation"  # 违法事实不成立, 不予处罚


class Procedure(StrEnum):
    SIMPLE = "simple"  # 简易程序: on the spot
    ORDINARY = "ordinary"  # 普通程序


class PartyType(StrEnum):
    INDIVIDUAL = "individual"
    ORGANISATION = "organisation"


# Measures that are not a penalty by themselves.
NOT_PENALTIES = frozenset({Measure.ORDER_TO_CORRECT})
SIMPLE_MEASURES = frozenset({Measure.WARNING, Measure.ORDER_TO_CORRECT})


@dataclass(frozen=True)
class Policy:
    """Configurable limits (defaults: the Administrative Penalty Law)."""

    simple_fine_individual_max: int = 200
    simple_fine_organisation_max: int = 3000
    # When set, a fine above these is major whatever the catalog says (a lower bar wins).
    major_fine_individual_over: int | None = None
    major_fine_organisation_over: int | None = None
    decision_limit_days: int = 90
    decision_warn_days: int = 75
    disclosure_working_days: int = 7


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    procedure: Procedure
    party_type: PartyType
    severity: Severity | None = None
    fine_yuan: int = 0
    measures: tuple[Measure, ...] = ()
    first_offence: bool = False
    corrected: bool = False

    @property
    def outcome(self) -> str:
        """The outcome word sent back to dispatch."""
        if self.kind is DecisionKind.EXEMPTED:
            return "exempted"
        if self.kind is DecisionKind.NO_VIOLATION:
            return "no_violation"
        if self.fine_yuan == 0 and set(self.measures) <= SIMPLE_MEASURES:
            return "warning"
        return "penalised"

    @property
    def needs_execution(self) -> bool:
        """A fine to collect or a measure to carry out (a warning executes itself)."""
        return self.kind is DecisionKind.PENALTY and (
            self.fine_yuan > 0 or not set(self.measures) <= SIMPLE_MEASURES)

    def same_as(self, other: Decision) -> bool:
        return (self.kind, self.severity, self.fine_yuan, frozenset(self.measures),
                self.party_type) == (other.kind, other.severity, other.fine_yuan,
                                     frozenset(other.measures), other.party_type)


@dataclass(frozen=True)
class Assessment:
    major: bool
    major_reasons: tuple[str, ...]
    simple_allowed: bool


def _threshold(catalog: int, override: int | None) -> int:
    return catalog if override is None else min(catalog, override)


def assess(violation: Violation, d: Decision, policy: Policy) -> Assessment:
    """Check a decision against the benchmark; raise OutsideDiscretion with the reason."""
    if d.fine_yuan < 0:
        raise OutsideDiscretion("fine_yuan: must not be negative")
    if d.kind is DecisionKind.NO_VIOLATION:
        if d.fine_yuan or d.measures:
            raise OutsideDiscretion("a no-violation decision imposes no fine and no measure")
        return Assessment(False, (), simple_allowed=False)
    if d.kind is DecisionKind.EXEMPTED:
        if not violation.first_offence_exemption:
            raise OutsideDiscretion(
                f"{violation.code} does not allow the first-offence exemption")
        if not (d.first_offence and d.corrected):
            raise OutsideDiscretion(
                "the first-offence exemption needs a first offence that was corrected in time")
        if d.severity not in (None, Severity.MINOR):
            raise OutsideDiscretion("the first-offence exemption is for minor violations only")
        if d.fine_yuan or not set(d.measures) <= NOT_PENALTIES:
            raise OutsideDiscretion("an exempted decision imposes no fine and no penalty")
        return Assessment(False, (), simple_allowed=True)

    if d.severity is None:
        raise OutsideDiscretion("severity: a penalty needs a severity tier")
    tier = violation.benchmark(d.severity)
    if d.fine_yuan > 0:
        allowed = tier.fine_range(d.party_type)
        if allowed is None:
            raise OutsideDiscretion(
                f"the {d.severity} tier of {violation.code} has no fine for an {d.party_type}")
        if d.fine_yuan not in allowed:
            raise OutsideDiscretion(
                f"a fine of {d.fine_yuan} yuan is outside the {d.severity} benchmark of "
                f"{violation.code} for an {d.party_type}: {allowed.min}-{allowed.max} yuan")
    for m in d.measures:
        if m not in tier.measures:
            raise OutsideDiscretion(
                f"measure {m} is not in the {d.severity} benchmark of {violation.code} "
                f"(allowed: {', '.join(tier.measures)})")
    if d.fine_yuan == 0 and set(d.measures) <= NOT_PENALTIES:
        raise OutsideDiscretion("a penalty needs a fine or a penalty measure")

    reasons: list[str] = []
    if d.party_type is PartyType.INDIVIDUAL:
        bar = _threshold(violation.major.fine_individual_over, policy.major_fine_individual_over)
    else:
        bar = _threshold(violation.major.fine_organisation_over,
                         policy.major_fine_organisation_over)
    if d.fine_yuan > bar:
        reasons.append(f"fine above {bar} yuan")
    reasons.extend(f"measure {m}" for m in d.measures if m in violation.major.measures)

    simple_max = (policy.simple_fine_individual_max if d.party_type is PartyType.INDIVIDUAL
                  else policy.simple_fine_organisation_max)
    simple = d.fine_yuan <= simple_max and set(d.measures) <= SIMPLE_MEASURES
    return Assessment(bool(reasons), tuple(reasons), simple_allowed=simple and not reasons)


def simple_procedure_refusal(d: Decision, a: Assessment, policy: Policy) -> str | None:
    """Why the simple procedure may not be used for this decision, or None."""
    if a.simple_allowed:
        return None
    if d.kind is DecisionKind.NO_VIOLATION:
        return "a no-violation finding needs an investigation (ordinary procedure)"
    limit = (policy.simple_fine_individual_max if d.party_type is PartyType.INDIVIDUAL
             else policy.simple_fine_organisation_max)
    return (f"the simple procedure allows only a warning or a fine up to {limit} yuan "
            f"for an {d.party_type}")
