"""What the simulator counts, and the one progress line it prints every few seconds."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stats:
    appeals: Counter[str] = field(default_factory=Counter)  # accepted, by channel
    refused: int = 0  # intake refused (a point outside the city): expected
    triage: int = 0  # accepted but waiting for a person to choose the matter
    repeats: int = 0  # repeat reports sent (to be merged)
    classified: int = 0  # triage appeals the simulated operator classified
    actions: Counter[str] = field(default_factory=Counter)  # unit actions, by action
    via: Counter[str] = field(default_factory=Counter)  # http | kafka
    stale: int = 0  # 403/404/409: the case had moved on (escalated, reassigned, closed)
    platform: Counter[str] = field(default_factory=Counter)  # extension decisions, assigns
    callbacks: int = 0  # call-back answers recorded by intake
    seen: Counter[str] = field(default_factory=Counter)  # case events, by type
    errors: Counter[str] = field(default_factory=Counter)  # by kind
    analytics: dict[str, Any] = field(default_factory=dict)  # latest totals, if reachable

    @property
    def accepted(self) -> int:
        return sum(self.appeals.values())

    def line(self, when: str) -> str:
        a = self.appeals
        other = self.accepted - a["hotline"] - a["grid_app"] - a["web_board"] - a["open311"]
        seen = self.seen
        parts = [
            f"[simulator] {when}",
            f"appeals {self.accepted} (hotline {a['hotline']}, grid app {a['grid_app']}, "
            f"web {a['web_board']}, open311 {a['open311']}, other {other}; "
            f"{self.repeats} repeats, {self.triage} to triage, {self.refused} refused)",
            f"unit actions {sum(self.actions.values())} ({self.stale} too late)",
            f"platform {sum(self.platform.values())}",
            f"call-backs {self.callbacks}",
            f"cases assigned {seen['assigned']}, resolved {seen['resolved']}, "
            f"closed {seen['closed']}, reopened {seen['reopened']}, "
            f"supervised {seen['supervised']}, escalated {seen['escalated']}, "
            f"merged {seen['merged']}",
        ]
        if self.analytics:
            t = self.analytics
            parts.append(f"analytics today: received {t.get('received')}, "
                         f"closed {t.get('closed')}")
        parts.append(f"errors {sum(self.errors.values())}")
        return " | ".join(parts)

    def summary(self) -> dict[str, Any]:
        return {
            "appeals": dict(self.appeals), "accepted": self.accepted, "refused": self.refused,
            "triage": self.triage, "repeats": self.repeats, "classified": self.classified,
            "actions": dict(self.actions), "via": dict(self.via), "stale": self.stale,
            "platform": dict(self.platform), "callbacks": self.callbacks,
            "seen": dict(self.seen), "errors": dict(self.errors),
        }
