"""The enforcement catalog: every violation a team may meet, its legal basis, whose
power it is, and the discretion benchmark (penalty ranges per severity tier).

The file is data, not code: ``data/catalog.json``. The loader refuses unknown format
versions, unknown fields, inverted ranges, unknown measures or categories and
duplicate codes, naming the record and the field.
"""

from __future__ import annotations

import functools
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

DATA_DIR = Path(__file__).parent / "data"
CATALOG_FILE = "catalog.json"
SUPPORTED_VERSIONS: frozenset[str] = frozenset({"enforcement-catalog.2026.11.1"})

NonEmpty = Annotated[str, StringConstraints(min_length=1)]
SnakeName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")]
ViolationCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-\d{3}$")]


class Severity(StrEnum):
    """Severity tiers of the discretion benchmark (裁量阶次)."""

    MINOR = "minor"  # 轻微
    GENERAL = "general"  # 一般
    SERIOUS = "serious"  # 严重


class Measure(StrEnum):
    """Penalties and measures other than a fine."""

    WARNING = "warning"
    ORDER_TO_CORRECT = "order_to_correct"
    CONFISCATION_OF_ILLEGAL_GAINS = "confiscation_of_illegal_gains"
    CONFISCATION_OF_PROPERTY = "confiscation_of_property"
    SUSPENSION = "suspension"
    LICENCE_REVOCATION = "licence_revocation"
    CLOSURE = "closure"
    DEMOLITION = "demolition"


class CatalogError(ValueError):
    """The catalog file is missing, unreadable or invalid: which record, which field."""

    def __init__(self, record: str, reason: str) -> None:
        self.record = record
        self.reason = reason
        super().__init__(f"{CATALOG_FILE}: {record}: {reason}")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FineRange(_Frozen):
    """Inclusive range in yuan."""

    min: Annotated[int, Field(ge=0)]
    max: Annotated[int, Field(gt=0)]

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, value: Any) -> Any:
        if isinstance(value, list | tuple) and len(value) == 2:
            return {"min": value[0], "max": value[1]}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError(f"fine range is inverted ({self.min} > {self.max})")
        return self

    def __contains__(self, amount: object) -> bool:
        return isinstance(amount, int) and self.min <= amount <= self.max


class Benchmark(_Frozen):
    """What one severity tier allows: fines by party type and the other measures."""

    fine_individual: FineRange | None
    fine_organisation: FineRange | None
    measures: Annotated[tuple[Measure, ...], Field(min_length=1)]

    def fine_range(self, party_type: str) -> FineRange | None:
        return self.fine_individual if party_type == "individual" else self.fine_organisation


class MajorCriteria(_Frozen):
    """Which decisions are major (重大执法决定) and need legal review first."""

    fine_individual_over: Annotated[int, Field(gt=0)]
    fine_organisation_over: Annotated[int, Field(gt=0)]
    measures: tuple[Measure, ...]


class Violation(_Frozen):
    code: ViolationCode
    name: NonEmpty
    name_en: NonEmpty
    category: SnakeName
    # Matter codes of the platform's matter catalog that usually mean this violation.
    matter_codes: tuple[Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-\d{3}$")], ...]
    legal_basis: NonEmpty
    department_kind: SnakeName  # the department whose power it is
    township_may_enforce: bool  # delegated to the township's comprehensive team
    first_offence_exemption: bool  # 首次不罚 allowed
    benchmarks: dict[Severity, Benchmark]
    major: MajorCriteria

    @model_validator(mode="after")
    def _every_tier(self) -> Self:
        missing = [s.value for s in Severity if s not in self.benchmarks]
        if missing:
            raise ValueError(f"benchmarks lack tiers: {', '.join(missing)}")
        return self

    def benchmark(self, severity: Severity) -> Benchmark:
        return self.benchmarks[severity]


class Category(_Frozen):
    code: SnakeName
    name: NonEmpty
    name_en: NonEmpty


class MeasureInfo(_Frozen):
    code: Measure
    name: NonEmpty
    name_en: NonEmpty


class EnforcementCatalog(_Frozen):
    version: NonEmpty
    notes: str = ""
    categories: tuple[Category, ...]
    measures: tuple[MeasureInfo, ...]
    violations: Annotated[tuple[Violation, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        categories = {c.code for c in self.categories}
        seen: set[str] = set()
        for v in self.violations:
            if v.code in seen:
                raise ValueError(f"violation {v.code} appears twice")
            seen.add(v.code)
            if v.category not in categories:
                raise ValueError(f"violation {v.code}: unknown category {v.category!r}")
        named = {m.code for m in self.measures}
        if named != set(Measure):
            raise ValueError("measures must name every measure exactly once")
        return self

    @functools.cached_property
    def _by_code(self) -> dict[str, Violation]:
        return {v.code: v for v in self.violations}

    @functools.cached_property
    def _by_matter(self) -> dict[str, Violation]:
        index: dict[str, Violation] = {}
        for v in self.violations:
            for m in v.matter_codes:
                index.setdefault(m, v)  # the first listed is the usual reading
        return index

    def violation(self, code: str) -> Violation | None:
        return self._by_code.get(code)

    def for_matter(self, matter_code: str) -> Violation | None:
        return self._by_matter.get(matter_code)

    def by_department(self, department_kind: str) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.department_kind == department_kind)

    def department_kinds(self) -> frozenset[str]:
        return frozenset(v.department_kind for v in self.violations)

    def check_department_kinds(self, known_kinds: frozenset[str]) -> None:
        """Every department named must exist as a unit kind in the unit registry."""
        for v in self.violations:
            if v.department_kind not in known_kinds:
                raise CatalogError(
                    f"violations ({v.code})",
                    f"department_kind {v.department_kind!r} is not a unit kind")


def _record_label(raw: Any, loc: tuple[int | str, ...]) -> str:
    label, node = "", raw
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
            label += f"[{part}]"
            if isinstance(node, dict) and "code" in node:
                return f"{label} ({node['code']})"
        elif isinstance(part, str):
            label += f".{part}" if label else part
            node = node.get(part) if isinstance(node, dict) else None
    return label or "(file)"


def parse_catalog(raw: Any) -> EnforcementCatalog:
    """Validate a decoded catalog document (the version first)."""
    if not isinstance(raw, dict):
        raise CatalogError("(file)", "top level is not a JSON object")
    version = raw.get("version")
    if version not in SUPPORTED_VERSIONS:
        raise CatalogError("(header)", f"unsupported version {version!r} "
                                       f"(supported: {', '.join(sorted(SUPPORTED_VERSIONS))})")
    try:
        return EnforcementCatalog.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = tuple(first["loc"])
        field = ".".join(str(p) for p in loc) or "(root)"
        raise CatalogError(_record_label(raw, loc), f"{field}: {first['msg']}") from None


def read_catalog(path: Path) -> EnforcementCatalog:
    try:
        raw = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise CatalogError("(file)", f"not found at {path}") from None
    except (OSError, ValueError) as exc:
        raise CatalogError("(file)", f"unreadable: {type(exc).__name__}") from None
    return parse_catalog(raw)


@functools.cache
def load_catalog(directory: Path = DATA_DIR) -> EnforcementCatalog:
    """The packaged catalog (or one in ``directory``), validated, cached."""
    return read_catalog(Path(directory) / CATALOG_FILE)
