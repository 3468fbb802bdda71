"""What the handlers need from reference data, as protocols (wired in bootstrap)."""

from __future__ import annotations

from typing import Protocol

from civicgrid_shared.contracts.events import TerritoryRef


class Locator(Protocol):
    def by_grid_code(self, grid_code: str) -> TerritoryRef | None: ...

    def by_point(self, latitude: float, longitude: float) -> TerritoryRef | None: ...


class MatterCodes(Protocol):
    def __contains__(self, code: object) -> bool: ...
