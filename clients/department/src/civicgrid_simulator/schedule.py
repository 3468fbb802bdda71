"""When things happen in the simulated city (pure: no I/O, seeded randomness).

Two clocks. The *real* clock is the one the platform runs on: dispatch computes every
deadline from the real time of an action, with each time limit multiplied by its
``CIVICGRID_DISPATCH_TIME_SCALE`` (1.0 in production). The *simulated* clock runs
``1 / scale`` times faster: at scale 1/1440 a simulated day passes in a real minute, and
a 2-hour sign-for limit is 5 real seconds.

Units act on the windows dispatch gave them (the deadlines of the task, in real time),
so their timing is right at any scale without knowing the scale: a unit that signs for
"on time" signs within the sign-for window, a "late" unit after its deadline. Only what
dispatch does not tell (how long a case may stay overdue before it is escalated, how
long a call-back may wait) is derived from the scale.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

CITY_TZ = ZoneInfo("Asia/Shanghai")
DAY = 86_400.0
HOUR = 3_600.0

_HOURLY_RAW = (0.15, 0.10, 0.08, 0.07, 0.08, 0.15, 0.40, 0.90, 1.50, 1.80, 1.80, 1.60,
               1.20, 1.30, 1.60, 1.70, 1.60, 1.40, 1.10, 1.00, 0.90, 0.70, 0.45, 0.25)
#: Relative intensity of appeals per hour of the city's day (mean 1): quiet at night,
#: peaks in the morning and the afternoon, as hotline call volumes do.
HOURLY_PROFILE: tuple[float, ...] = tuple(w * 24 / sum(_HOURLY_RAW) for w in _HOURLY_RAW)

# Dispatch's defaults for what a task does not say (docs: README "Configuration").
ESCALATE_AFTER_HOURS = 24.0  # CIVICGRID_DISPATCH_ESCALATE_AFTER_HOURS
RESPOND_MINUTES = 30.0  # CIVICGRID_DISPATCH_RESPOND_MINUTES


def parse_scale(text: str) -> float:
    """``"1/1440"``, ``"0.0007"`` or ``"1"`` → a time scale in (0, 1]."""
    try:
        value = float(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"time scale {text!r} is not a number or a fraction like 1/1440") \
            from None
    if not 0 < value <= 1:
        raise ValueError(f"time scale {text!r} must be in (0, 1]: 1 is real time")
    return value


def infer_scale(assigned_at: datetime, sign_for_due: datetime,
                sign_for_hours: float) -> float | None:
    """The time scale dispatch runs at, read off a task's sign-for window (None if the
    window is empty, e.g. a case resolved on the spot)."""
    window = (sign_for_due - assigned_at).total_seconds()
    if window <= 0 or sign_for_hours <= 0:
        return None
    return window / (sign_for_hours * HOUR)


@dataclass(frozen=True)
class SimClock:
    """Real time ↔ simulated time. ``scale`` real seconds pass per simulated second."""

    scale: float
    real_start: float  # epoch seconds when the simulation started
    sim_start: datetime  # the simulated moment at real_start (aware)

    def sim_elapsed(self, real_now: float) -> float:
        return (real_now - self.real_start) / self.scale

    def sim_time(self, real_now: float) -> datetime:
        return self.sim_start + timedelta(seconds=self.sim_elapsed(real_now))

    def real(self, sim_seconds: float) -> float:
        """Real seconds for a simulated duration."""
        return sim_seconds * self.scale

    def hour_weight(self, real_now: float) -> float:
        return HOURLY_PROFILE[self.sim_time(real_now).astimezone(CITY_TZ).hour]

    def label(self, real_now: float, days: int | None) -> str:
        """``day 3/7 14:20`` in days mode, else the time elapsed."""
        elapsed = self.sim_elapsed(real_now)
        if days is None:
            return f"{int(elapsed // 60)}m{int(elapsed % 60):02d}s"
        if elapsed >= days * DAY:
            return f"day {days}/{days} 24:00"
        day = int(elapsed // DAY) + 1
        clock = self.sim_time(real_now).astimezone(CITY_TZ).strftime("%H:%M")
        return f"day {day}/{days} {clock}"


def next_arrival(rng: random.Random, real_now: float, rate: float,
                 weight_at: Callable[[float], float] | None = None,
                 max_weight: float = 1.0) -> float:
    """The real time of the next appeal: a Poisson process of ``rate`` per real second,
    modulated by ``weight_at`` (mean 1) by thinning when given."""
    if rate <= 0:
        return math.inf
    if weight_at is None:
        return real_now + rng.expovariate(rate)
    t = real_now
    for _ in range(100_000):
        t += rng.expovariate(rate * max_weight)
        if rng.random() * max_weight <= weight_at(t):
            return t
    return t


# -- the units ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Behaviour:
    """How the simulated units behave, as shares of their assignments."""

    returns: float = 0.06  # 退单: not ours (first assignments and re-dispatches only)
    absent: float = 0.02  # never answer: overdue, supervised, escalated automatically
    slow_sign: float = 0.08  # sign for after the sign-for deadline: supervised (督办)
    starts: float = 0.75  # mark the case in progress before resolving it
    escalates: float = 0.03  # 上报: hand it up a tier (units with a tier above)
    whistles: float = 0.30  # 吹哨: a township office summons the county department
    extensions: float = 0.06  # 延期: ask the platform for more time
    late: float = 0.12  # resolve after the deadline
    responds_on_time: float = 0.85  # summoned departments that report in time
    grants: float = 0.8  # the platform grants an extension


@dataclass(frozen=True)
class Step:
    """One action of a unit, ``at`` real seconds after the assignment."""

    at: float
    action: str  # sign_for | start | return | extension | escalate | whistle | resolve
    extra: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Windows:
    """A task's windows in real seconds from its assignment (from the task's deadlines),
    and the overdue period before automatic escalation (24 h × scale).

    ``work_cap`` (live mode): a unit that does its job on time does it within this many
    real seconds (signing for within a fifth of it), however long the limit, so that a
    city on real time shows resolutions within minutes. Deadlines are not touched: what
    is planned late still comes after the real deadline.
    """

    sign_for: float
    resolve: float
    escalate_after: float
    work_cap: float = math.inf

    @property
    def sign_work(self) -> float:
        return min(self.sign_for, self.work_cap / 5)

    @property
    def resolve_work(self) -> float:
        return min(self.resolve, self.work_cap)


def plan_assignment(rng: random.Random, w: Windows, *, reason: str, can_escalate: bool,
                    township_office: bool, behaviour: Behaviour = Behaviour()) -> list[Step]:
    """What the unit will do with a case it was just assigned, and when."""
    b = behaviour
    first = reason in ("initial", "redispatch")
    if first and rng.random() < b.absent:
        return []
    eps = max(w.resolve_work, w.sign_work) * 1e-3
    sign, work = w.sign_work, w.resolve_work
    if first and rng.random() < b.returns:
        if rng.random() < 0.7:
            return [Step(sign * rng.uniform(0.05, 0.8), "return")]
        signed = sign * rng.uniform(0.05, 0.6)
        return [Step(signed, "sign_for"),
                Step(signed + eps + work * rng.uniform(0.01, 0.1), "return")]
    if rng.random() < b.slow_sign:
        signed = w.sign_for + w.escalate_after * rng.uniform(0.1, 0.6)
    else:
        signed = sign * rng.uniform(0.05, 0.7)
    steps = [Step(signed, "sign_for")]
    t = signed
    if first and can_escalate and rng.random() < b.escalates:
        steps.append(Step(t + eps + work * rng.uniform(0.02, 0.1), "escalate"))
        return steps
    if rng.random() < b.starts:
        t += eps + work * rng.uniform(0.01, 0.08)
        steps.append(Step(t, "start"))
    if township_office and first and rng.random() < b.whistles:
        t += eps + work * rng.uniform(0.01, 0.05)
        steps.append(Step(t, "whistle"))
    extension = reason != "reopen" and rng.random() < b.extensions
    if extension:
        t += eps + work * rng.uniform(0.1, 0.4)
        # requested_due: this much later than the deadline in force (real seconds)
        steps.append(Step(t, "extension", {"more": w.resolve * rng.uniform(0.3, 1.0)}))
    if rng.random() < b.late:
        resolve_at = w.resolve + w.escalate_after * rng.uniform(0.05, 0.7)
    elif reason == "reopen":
        resolve_at = work * rng.uniform(0.05, 0.5)
    else:
        # Most cases are done well inside the limit: early-skewed within the window.
        resolve_at = work * rng.uniform(0.1, 0.95) ** 2
    if extension:
        resolve_at = max(resolve_at, work * rng.uniform(0.8, 1.3))
    steps.append(Step(max(resolve_at, t + eps), "resolve"))
    return steps


def plan_response(rng: random.Random, respond_window: float,
                  behaviour: Behaviour = Behaviour(), work_cap: float = math.inf) -> float:
    """When a summoned county department reports (报到), real seconds after the summons."""
    if rng.random() < behaviour.responds_on_time:
        return min(respond_window, work_cap) * rng.uniform(0.1, 0.9)
    return respond_window * rng.uniform(1.1, 3.0)


def callback_delay(rng: random.Random, window: float, work_cap: float = math.inf) -> float:
    """When the citizen answers the call-back, real seconds after it was requested."""
    return min(max(window, 0.0), work_cap) * rng.uniform(0.05, 0.7)
