"""The matter catalog aggregate (事项清单)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

from pydantic import Field

from .models import FileHeader, Matter, MatterCategory


@dataclass(frozen=True, slots=True)
class _CatalogIndex:
    by_code: dict[str, Matter]
    by_service_code: dict[str, Matter]
    categories: dict[str, MatterCategory]
    by_category: dict[str, tuple[Matter, ...]]

    @classmethod
    def build(cls, c: MatterCatalog) -> _CatalogIndex:
        grouped: defaultdict[str, list[Matter]] = defaultdict(list)
        for m in c.matter_records:
            grouped[m.category_code].append(m)
        return cls(
            by_code={m.code: m for m in c.matter_records},
            by_service_code={m.service_code: m for m in c.matter_records},
            categories={k.code: k for k in c.category_records},
            by_category={k: tuple(v) for k, v in grouped.items()},
        )


class MatterCatalog(FileHeader):
    """The contents of matters.json.

    The file's "categories" and "matters" arrays are read into *_records fields so that
    the natural method names (categories(), all()) stay free for the query API.
    """

    category_records: tuple[MatterCategory, ...] = Field(alias="categories")
    matter_records: tuple[Matter, ...] = Field(alias="matters")

    def build_indexes(self) -> None:
        _ = self._idx  # computed once here, then cached on the instance

    # cached_property, not a pydantic PrivateAttr: private attribute reads go through
    # BaseModel.__getattr__ (microseconds), too slow for per-request look-ups.
    @cached_property
    def _idx(self) -> _CatalogIndex:
        return _CatalogIndex.build(self)

    def all(self) -> tuple[Matter, ...]:
        return self.matter_records

    def matter(self, code: str) -> Matter | None:
        return self._idx.by_code.get(code)

    def by_service_code(self, service_code: str) -> Matter | None:
        """Look-up for the Open311 facade, which speaks service codes."""
        return self._idx.by_service_code.get(service_code)

    def categories(self) -> tuple[MatterCategory, ...]:
        return self.category_records

    def category(self, code: str) -> MatterCategory | None:
        return self._idx.categories.get(code)

    def by_category(self, code: str) -> tuple[Matter, ...]:
        return self._idx.by_category.get(code, ())
