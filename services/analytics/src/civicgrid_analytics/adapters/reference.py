"""Display names of territory codes, matter codes and unit ids (reference data)."""

from __future__ import annotations

import asyncio
from functools import cached_property

from civicgrid_shared.reference.loader import ReferenceData, load_reference


class ReferenceNames:
    """Loaded once, on first use, off the event loop."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._loaded = False

    @cached_property
    def _ref(self) -> ReferenceData:
        return load_reference()

    async def ready(self) -> ReferenceNames:
        if not self._loaded:
            async with self._lock:
                if not self._loaded:
                    await asyncio.to_thread(lambda: self._ref)
                    self._loaded = True
        return self

    def name(self, code: str | None) -> str | None:
        if not code:
            return None
        ref = self._ref
        area = ref.territory.area(code)
        if area is not None:
            return area.name
        matter = ref.matters.matter(code)
        if matter is not None:
            return matter.name
        unit = ref.units.unit(code)
        return unit.name if unit is not None else None
