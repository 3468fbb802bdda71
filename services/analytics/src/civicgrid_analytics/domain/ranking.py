"""Assessment (考核): units and grid workers ranked by a weighted score (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the assessment score; only their ratios matter."""

    response: float = 0.2  # 响应率
    resolution: float = 0.3  # 解决率
    satisfaction: float = 0.3  # 满意率
    on_time: float = 0.2  # 按期办结率

    def items(self) -> tuple[tuple[str, float], ...]:
        return (("response_rate", self.response), ("resolution_rate", self.resolution),
                ("satisfaction_rate", self.satisfaction),
                ("on_time_disposal_rate", self.on_time))


def score(indicators: dict[str, Any], weights: ScoreWeights) -> float | None:
    """100 x the weighted mean of the rates that are defined (None if none is).

    A rate that is undefined (nobody was called back yet, say) is left out and the
    other weights are scaled up, rather than counting it as 0 or 1.
    """
    total_weight = 0.0
    total = 0.0
    for name, weight in weights.items():
        value = indicators.get(name)
        if value is None or weight <= 0:
            continue
        total += weight * float(value)
        total_weight += weight
    if total_weight == 0:
        return None
    return round(100.0 * total / total_weight, 2)


@dataclass(frozen=True)
class Ranked:
    rank: int
    key: str
    score: float
    cases: int
    indicators: dict[str, Any]


def rank(rows: list[dict[str, Any]], weights: ScoreWeights, min_cases: int,
         cases_field: str = "assigned") -> tuple[list[Ranked], list[str]]:
    """Rank rows (each with ``key`` and indicators) by score.

    Rows with fewer than ``min_cases`` cases, or no score, are not ranked (returned as
    the second list). Order: score descending, then more cases, then key; equal
    scores share a rank (1, 2, 2, 4).
    """
    scored: list[tuple[float, int, str, dict[str, Any]]] = []
    unranked: list[str] = []
    for row in rows:
        key = row.get("key")
        if key is None:
            continue
        cases = int(row.get(cases_field) or 0)
        s = score(row, weights)
        if cases < min_cases or s is None:
            unranked.append(str(key))
            continue
        scored.append((s, cases, str(key), row))
    scored.sort(key=lambda t: (-t[0], -t[1], t[2]))
    out: list[Ranked] = []
    for i, (s, cases, key, row) in enumerate(scored):
        position = out[-1].rank if out and out[-1].score == s else i + 1
        out.append(Ranked(position, key, s, cases, row))
    return out, sorted(unranked)
