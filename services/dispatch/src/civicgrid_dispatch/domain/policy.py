"""The numbers of the dispatch rules, in one place (set from DispatchSettings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Policy:
    # Every time limit is multiplied by this (1.0 in production; small in simulations).
    time_scale: float = 1.0
    # Warn this fraction of a deadline's window before it.
    warn_fraction: float = 0.2
    # Overdue and still not done this long after the deadline: level 2 + escalation.
    escalate_after_hours: float = 24.0
    callback_working_days: int = 3
    # Summoned county departments (吹哨报到) must respond within this.
    respond_minutes: float = 30.0
    max_returns: int = 2  # returned this many times: up to the city platform
    max_reopens: int = 2  # reopened this many times: the next "not satisfied" escalates
    basically_satisfied_counts: bool = True
    green_channel_min_workers: int = 10
    green_channel_min_amount_yuan: float = 100_000.0
    green_channel_sign_for_hours: float = 2.0
    # A case handed to enforcement is resolved by its decision, which the law allows 90
    # days from filing: the matter's own limit would escalate it long before.
    enforcement_resolve_days: int = 90

    @property
    def escalate_after(self) -> timedelta:
        return timedelta(hours=self.escalate_after_hours) * self.time_scale

    @property
    def respond_window(self) -> timedelta:
        return timedelta(minutes=self.respond_minutes) * self.time_scale
