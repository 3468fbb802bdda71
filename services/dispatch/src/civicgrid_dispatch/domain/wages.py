"""Unpaid wages (欠薪): when a case takes the green channel.

The appeal carries no structured amounts, so the number of workers and the sum owed
are read from its text with a deliberately small heuristic: Arabic numerals followed by
a people counter (名/人/个) near a word for workers, and sums in 元 or 万元 (万 = 10,000).
"28名工人", "工人28名", "18万元", "180000元", "1.5万元" are understood; Chinese numerals
("二十八名") are not. When nothing is found, the thresholds simply do not apply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORKERS = re.compile(r"(\d{1,5})\s*(?:名|个|位)?\s*(?:农民工|工人|员工|工友|人)")
_WORKERS_AFTER = re.compile(
    r"(?:农民工|工人|员工|工友)\s*(?:共|有|约)?\s*(\d{1,5})\s*(?:名|人|个|位)")
_AMOUNT = re.compile(r"(\d{1,12}(?:\.\d{1,4})?)\s*(万)?\s*(?:元|块)")
_WAGE_WORDS = ("欠薪", "工资", "讨薪", "工钱", "薪资", "劳务费", "工程款")


@dataclass(frozen=True)
class WageClaim:
    workers: int | None
    amount_yuan: float | None


def parse_wage_claim(text: str) -> WageClaim:
    """The largest head count and the largest sum mentioned in ``text`` (or None)."""
    workers = [int(m.group(1)) for m in _WORKERS.finditer(text)]
    workers += [int(m.group(1)) for m in _WORKERS_AFTER.finditer(text)]
    amounts = [float(m.group(1)) * (10_000 if m.group(2) else 1)
               for m in _AMOUNT.finditer(text)]
    return WageClaim(max(workers) if workers else None, max(amounts) if amounts else None)


def mentions_wages(text: str) -> bool:
    return any(word in text for word in _WAGE_WORDS)


def takes_green_channel(claim: WageClaim, min_workers: int, min_amount_yuan: float) -> bool:
    return (claim.workers is not None and claim.workers >= min_workers) or \
        (claim.amount_yuan is not None and claim.amount_yuan >= min_amount_yuan)
