"""The simulator's pure parts: the mix of appeals, the schedule of arrivals and of the
units' actions, the call-back answers. Fast, no network."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from civicgrid_shared.contracts.events import TerritoryRef
from civicgrid_shared.reference.loader import load_matters, load_territory, load_units
from civicgrid_simulator.city import manual_target
from civicgrid_simulator.mix import (
    ANSWER_MIX,
    CHANNEL_MIX,
    OUTSIDE_EVERY,
    OUTSIDE_POINT,
    AppealFactory,
    AppealPlan,
    callback_answer,
    can_repeat,
    generic_body,
    matter_weights,
    request,
)
from civicgrid_simulator.schedule import (
    DAY,
    HOURLY_PROFILE,
    Behaviour,
    SimClock,
    Windows,
    callback_delay,
    infer_scale,
    next_arrival,
    parse_scale,
    plan_assignment,
    plan_response,
)
from civicgrid_simulator.stats import Stats

NOW = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)  # 09:00 in the city


@pytest.fixture(scope="module")
def plans() -> list[AppealPlan]:
    factory = AppealFactory(random.Random(7), load_matters(), load_territory().grids, "t")
    return [factory.next() for _ in range(4000)]


# -- the mix -----------------------------------------------------------------------------


def test_channel_shares_follow_the_mix(plans: list[AppealPlan]) -> None:
    counts = Counter(p.channel for p in plans)
    for channel, (share, _route) in CHANNEL_MIX.items():
        assert abs(counts[channel] / len(plans) - share) < 0.03, channel


def test_matters_cover_the_catalog_weighted_by_category(plans: list[AppealPlan]) -> None:
    matters = load_matters().all()
    weights = matter_weights(matters)
    assert len(weights) == len(matters) and min(weights) > 0
    by_category = Counter(p.matter.category_code for p in plans)
    assert by_category["CA"] > 3 * by_category["AG"]
    assert len({p.matter.code for p in plans}) > 150  # most of the 190 matters show up
    emergencies = sum(p.matter.priority == "emergency" for p in plans) / len(plans)
    assert emergencies < 0.05


def test_text_is_chinese_and_names_the_matter(plans: list[AppealPlan]) -> None:
    named = [p for p in plans if any(k in p.text for k in p.matter.keywords)
             or p.matter.name in p.text]
    assert len(named) / len(plans) > 0.9  # the rest are the vague ones, for triage
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in p.text) for p in plans)
    # The senders name the matter sometimes, so that the classifier is exercised too.
    free = [p for p in plans if not p.send_code]
    assert 0.2 < len(free) / len(plans) < 0.5
    assert all(p.send_code for p in plans if p.route == "open311")


def test_on_the_spot_outside_and_phones(plans: list[AppealPlan]) -> None:
    spot = [p for p in plans if p.on_the_spot]
    assert spot and all(p.route == "grid_app" and p.resolution_note for p in spot)
    assert all(p.matter.expected_tier in ("grid", "community") for p in spot)
    outside = [p for p in plans if p.outside_city]
    assert all(p.point == OUTSIDE_POINT and p.route != "grid_app" for p in outside)
    assert len(outside) == len(plans) // OUTSIDE_EVERY  # one in a hundred, every hundred
    assert [p for p in plans[:20] if p.outside_city]  # and one early on
    city = load_territory()
    assert city.resolve_point(*OUTSIDE_POINT) is None
    inside = [p for p in plans if not p.outside_city][:300]
    assert all(city.resolve_point(*p.point).code == p.grid.code for p in inside)  # type: ignore[union-attr]
    phones = [p.phone for p in plans if p.phone]
    assert len(set(phones)) == len(phones)  # distinct citizens are never merged by phone
    assert all(len(n) == 11 and n.startswith("199") for n in phones)


def test_requests_are_valid_bodies_of_intake(plans: list[AppealPlan]) -> None:
    channels = pytest.importorskip("civicgrid_intake.domain.channels")
    commands = pytest.importorskip("civicgrid_intake.domain.commands")
    models = {"hotline": channels.HotlineCall, "grid_app": channels.GridAppReport,
              "web_board": channels.WebBoardMessage}
    paths = set()
    for p in plans[:1500]:
        path, body, key = request(p, f"sim-t-{p.seq:07d}", NOW)
        paths.add(path)
        if p.route in models:
            models[p.route].model_validate(body)
            assert key == f"dev-{p.channel}"
        elif p.route == "open311":
            assert body["service_code"] == p.matter.service_code and "lat" in body
        else:
            assert key is None
            commands.SubmitAppeal.model_validate(body)
        commands.SubmitAppeal.model_validate(generic_body(p, "x"))  # the fallback route
    assert len(paths) == 5


def test_a_repeat_reports_the_same_problem_again() -> None:
    factory = AppealFactory(random.Random(3), load_matters(), load_territory().grids, "t")
    original = next(p for p in (factory.next() for _ in range(200)) if can_repeat(p))
    again = factory.repeat(original)
    assert again.repeat_of == original.seq and again.seq != original.seq
    assert (again.matter, again.grid, again.use_point) == \
        (original.matter, original.grid, original.use_point)
    assert again.send_code and again.phone != original.phone
    assert factory.external_id(again) != factory.external_id(original)


def test_callback_answers_are_mostly_satisfied() -> None:
    rng = random.Random(5)
    answers = [callback_answer(rng) for _ in range(5000)]
    unanswered = sum(a is None for a in answers) / len(answers)
    assert abs(unanswered - ANSWER_MIX[0][0]) < 0.02
    given = [a for a in answers if a is not None]
    content = sum(a.solved and a.satisfaction.value != "not_satisfied" for a in given)
    assert 0.85 < content / len(given) < 0.95
    again = [callback_answer(rng, reopen_count=1) for _ in range(1000)]
    assert sum(a is not None and a.solved for a in again) > 900


# -- the schedule ----------------------------------------------------------------------------


def test_parse_and_infer_the_time_scale() -> None:
    assert parse_scale("1/1440") == pytest.approx(1 / 1440)
    assert parse_scale("0.5") == 0.5 and parse_scale("1") == 1.0
    for bad in ("0", "2", "abc", "1/0"):
        with pytest.raises(ValueError):
            parse_scale(bad)
    at = NOW
    assert infer_scale(at, at + timedelta(seconds=5), 2.0) == pytest.approx(5 / 7200)
    assert infer_scale(at, at, 2.0) is None


def test_arrivals_keep_the_rate_and_follow_the_day() -> None:
    assert sum(HOURLY_PROFILE) / 24 == pytest.approx(1.0)
    rng = random.Random(11)
    scale = 1 / 1440  # a day per minute
    clock = SimClock(scale, 0.0, datetime(2026, 3, 9, 16, 0, tzinfo=UTC))  # city midnight
    t, times = 0.0, []
    end = 7 * DAY * scale
    while True:
        t = next_arrival(rng, t, 5.0, clock.hour_weight, max(HOURLY_PROFILE))
        if t >= end:
            break
        times.append(t)
    assert abs(len(times) / (5.0 * end) - 1) < 0.05
    hours = Counter(int(clock.sim_time(x).astimezone(clock.sim_start.tzinfo).hour)
                    for x in times)
    # UTC hour 2 is 10:00 in the city (busy), UTC hour 19 is 03:00 (quiet).
    assert hours[2] > 5 * hours[19]
    flat = [next_arrival(rng, 0.0, 2.0) for _ in range(4000)]
    assert sum(flat) / len(flat) == pytest.approx(0.5, rel=0.05)
    assert next_arrival(rng, 0.0, 0.0) == float("inf")


def test_the_clock_labels_days() -> None:
    clock = SimClock(1 / 1440, 100.0, datetime(2026, 3, 9, 16, 0, tzinfo=UTC))
    assert clock.label(100.0 + 60 * 1.5, 7) == "day 2/7 12:00"
    assert clock.label(100.0 + 60 * 7, 7) == "day 7/7 24:00"
    assert clock.real(DAY) == pytest.approx(60.0)
    assert SimClock(1.0, 0.0, NOW).label(125.0, None) == "2m05s"


WINDOWS = Windows(sign_for=10.0, resolve=100.0, escalate_after=30.0)


def _draw(reason: str = "initial", n: int = 3000, **kw: bool) -> list[list[str]]:
    rng = random.Random(2)
    out = []
    for _ in range(n):
        steps = plan_assignment(rng, WINDOWS, reason=reason,
                                can_escalate=kw.get("can_escalate", True),
                                township_office=kw.get("township_office", False))
        assert [s.at for s in steps] == sorted(s.at for s in steps)
        out.append([s.action for s in steps])
    return out


def test_units_reach_every_action() -> None:
    plans = _draw() + _draw(township_office=True)
    actions = Counter(a for p in plans for a in p)
    for action in ("sign_for", "start", "return", "extension", "escalate", "whistle",
                   "resolve"):
        assert actions[action] > 0, action
    assert sum(p == [] for p in plans) > 0  # absent units: overdue, then escalated
    b = Behaviour()
    returned = sum("return" in p for p in plans) / len(plans)
    assert abs(returned - b.returns) < 0.02
    assert all(p[-1] in ("resolve", "return", "escalate") for p in plans if p)


def test_timing_on_time_late_and_overdue() -> None:
    rng = random.Random(9)
    signs, resolves = [], []
    for _ in range(3000):
        for s in plan_assignment(rng, WINDOWS, reason="initial", can_escalate=False,
                                 township_office=False):
            (signs if s.action == "sign_for" else resolves if s.action == "resolve"
             else []).append(s.at)
    late_signs = sum(t > WINDOWS.sign_for for t in signs) / len(signs)
    late_resolves = sum(t > WINDOWS.resolve for t in resolves) / len(resolves)
    assert 0.05 < late_signs < 0.12  # supervised (督办)
    assert 0.08 < late_resolves < 0.25
    # Late ones come back before the automatic escalation, mostly.
    assert max(resolves) < WINDOWS.resolve + WINDOWS.escalate_after


def test_reopened_and_escalated_cases_are_not_bounced_again() -> None:
    for reason in ("reopen", "escalation", "manual"):
        plans = _draw(reason, n=1000)
        assert not any("return" in p or "escalate" in p for p in plans), reason
        assert all(p and p[-1] == "resolve" for p in plans), reason
    assert not any("extension" in p for p in _draw("reopen", n=1000))


def test_summoned_departments_and_callbacks() -> None:
    rng = random.Random(4)
    responses = [plan_response(rng, 10.0) for _ in range(2000)]
    on_time = sum(t <= 10.0 for t in responses) / len(responses)
    assert abs(on_time - Behaviour().responds_on_time) < 0.03
    delays = [callback_delay(rng, 100.0) for _ in range(1000)]
    assert all(0 < d < 100.0 for d in delays)


def test_manual_dispatch_target_is_a_real_unit() -> None:
    units, matters, city = load_units(), load_matters(), load_territory()
    grid = city.grids[10]
    path = city.path(grid.code)
    territory = TerritoryRef(county_code=path.county_code, township_code=path.township_code,
                             community_code=path.community_code, grid_code=grid.code)
    for matter in matters.all()[::7]:
        target = manual_target(units, matter, territory)
        assert target is not None and units.unit(target) is not None
    assert manual_target(units, None, territory) == f"township-{path.township_code}-office"


def test_progress_line_counts_and_summary() -> None:
    stats = Stats()
    stats.appeals.update({"hotline": 3, "gov_app": 1})
    stats.seen["closed"] = 2
    stats.errors["unreachable"] = 1
    line = stats.line("day 1/7 09:00")
    assert "appeals 4 (hotline 3" in line and "other 1" in line
    assert "closed 2" in line and line.endswith("errors 1")
    assert stats.summary()["accepted"] == 4


def test_live_mode_does_on_time_work_within_the_cap() -> None:
    """On real time a 7-working-day case would take days: capped, the city moves within
    minutes, while late work still comes after the real deadline."""
    rng = random.Random(13)
    week = Windows(sign_for=7200.0, resolve=7 * DAY, escalate_after=DAY, work_cap=300.0)
    late_resolves = 0
    for _ in range(2000):
        steps = plan_assignment(rng, week, reason="initial", can_escalate=False,
                                township_office=False)
        signed = 0.0
        for s in steps:
            if s.action == "sign_for":
                signed = s.at
                assert s.at <= 60.0 or s.at > week.sign_for  # on time, or late (supervised)
            if s.action == "resolve":
                if s.at > week.resolve:
                    late_resolves += 1
                else:  # soon after it was signed for (which may itself have been late)
                    assert s.at <= max(signed, 0.0) + 300.0 * 1.3 + 1
    assert late_resolves > 0
    assert callback_delay(rng, 3 * DAY, work_cap=300.0) < 300.0
