"""What the handlers need from reference data and models, as protocols (wired in bootstrap)."""

from __future__ import annotations

from typing import Protocol

from civicgrid_shared.contracts.events import TerritoryRef

from civicgrid_intake.domain.classify import Classification
from civicgrid_intake.domain.duplicates import DuplicateRule


class Locator(Protocol):
    def by_grid_code(self, grid_code: str) -> TerritoryRef | None: ...

    def by_point(self, latitude: float, longitude: float) -> TerritoryRef | None: ...


class MatterCodes(Protocol):
    def __contains__(self, code: object) -> bool: ...


class MatterRules(MatterCodes, Protocol):
    def duplicate_rule(self, code: str) -> DuplicateRule: ...


class Classifier(Protocol):
    def classify(self, text: str) -> Classification: ...


class UnitNames(Protocol):
    def unit_name(self, unit_id: str) -> str | None: ...
