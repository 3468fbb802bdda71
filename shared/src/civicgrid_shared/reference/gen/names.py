"""Plausible, fictional Chinese place names built from syllable lists."""

from __future__ import annotations

import random


def _chars(s: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s))  # de-duplicated, order kept (determinism)


COUNTY_FIRST = _chars("泽沁陵高丹析濩浮屯长兴凤丰云柳润沐潞晞")
COUNTY_SECOND = _chars("州城川水阳平源陵丘河山原台")
URBAN_FIRST = _chars("东西南北中新景凤书锦和春文华紫金银泰康德兰秀建安宁福丹白玉青红阳光明朝")
URBAN_SECOND = _chars("关街苑园庭台城府里院坊湾门林亭桥市巷峰华湖源")
RURAL_FIRST = _chars(
    "东西南北上下前后大小高长永古金石沙泉河山岭马牛杨柳桃李枣松柏王张刘赵陈郭韩孙段申常冯"
)
RURAL_SECOND = _chars("庄村河沟峪岭坡头口关寨营堡店铺桥湾泉源洼屯院寺坪掌底窑坊城峰")

REAL_NAMES = frozenset({"泽州", "高平", "阳城", "陵川", "沁水", "城区", "晋城", "长治", "晋中"})

COUNTY_SUFFIX = {"district": "区", "county": "县", "county_city": "市"}
TOWNSHIP_SUFFIX = {"street": "街道", "town": "镇", "township": "乡"}
COMMUNITY_SUFFIX = {"community": "社区", "village": "村"}


class NameMaker:
    """Draws names from a seeded RNG, unique within a scope (e.g. one county)."""

    def __init__(self, rng: random.Random, reserved: set[str] | None = None) -> None:
        self._rng = rng
        self._used: dict[str, set[str]] = {}
        # Real county names of the region stay out, so the city is plainly fictional.
        self._reserved = (reserved or set()) | REAL_NAMES
        self._county_firsts: set[str] = set()

    def _draw(self, scope: str, first: tuple[str, ...], second: tuple[str, ...]) -> str:
        used = self._used.setdefault(scope, set())
        for attempt in range(200):
            base = self._rng.choice(first) + self._rng.choice(second)
            if attempt > 100:
                # Two syllables ran short in a crowded scope: fall back to three.
                base = self._rng.choice(first) + base
            if base[0] != base[-1] and base not in used and base not in self._reserved:
                used.add(base)
                return base
        raise RuntimeError(f"ran out of names in scope {scope}")

    def county(self, kind: str) -> str:
        # Distinct first syllables, so no two counties read alike (沁水/沁台).
        firsts = tuple(c for c in COUNTY_FIRST if c not in self._county_firsts)
        base = self._draw("city", firsts, COUNTY_SECOND)
        self._county_firsts.add(base[0])
        return base + COUNTY_SUFFIX[kind]

    def township(self, county_code: str, kind: str) -> str:
        if kind == "street":
            base = self._draw(county_code, URBAN_FIRST, URBAN_SECOND)
        else:
            base = self._draw(county_code, RURAL_FIRST, RURAL_SECOND)
        return base + TOWNSHIP_SUFFIX[kind]

    def community(self, county_code: str, kind: str) -> str:
        # Unique county-wide (not just per township): callers quote community names
        # with only the county for context.
        scope = county_code + "/c"
        if kind == "community":
            base = self._draw(scope, URBAN_FIRST, URBAN_SECOND)
        else:
            base = self._draw(scope, RURAL_FIRST, RURAL_SECOND)
        return base + COMMUNITY_SUFFIX[kind]
