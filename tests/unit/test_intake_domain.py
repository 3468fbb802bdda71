"""Intake's pure domain: duplicates, rate limits, channel mapping, history rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from civicgrid_intake.domain.access import TokenBucket
from civicgrid_intake.domain.channels import GridAppReport, HotlineCall, WebBoardMessage
from civicgrid_intake.domain.duplicates import (
    DuplicateRule,
    OpenCase,
    Probe,
    bounding_box,
    find_duplicate,
    haversine_m,
)
from civicgrid_shared.contracts.events import Channel
from pydantic import ValidationError

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
GRID = "14050014050200501006"


def test_haversine_and_bounding_box() -> None:
    # One degree of latitude is about 111.2 km.
    assert haversine_m(35.0, 112.0, 36.0, 112.0) == pytest.approx(111_195, rel=1e-3)
    assert haversine_m(35.5, 112.8, 35.5, 112.8) == 0.0
    min_lat, max_lat, min_lon, max_lon = bounding_box(35.5, 112.8, 250)
    assert haversine_m(35.5, 112.8, max_lat, 112.8) == pytest.approx(250, rel=1e-6)
    assert haversine_m(35.5, 112.8, 35.5, max_lon) == pytest.approx(250, rel=1e-3)
    assert min_lat < 35.5 < max_lat and min_lon < 112.8 < max_lon


def _case(**kw: object) -> OpenCase:
    base: dict[str, object] = dict(case_id=uuid.uuid4(), matter_code="RD-003", received_at=NOW,
                                   latitude=35.5, longitude=112.8, grid_code=GRID,
                                   phone_e164="+8613811112222")
    base.update(kw)
    return OpenCase(**base)  # type: ignore[arg-type]


def _probe(**kw: object) -> Probe:
    base: dict[str, object] = dict(matter_code="RD-003", received_at=NOW + timedelta(hours=1),
                                   latitude=35.5 + 0.001, longitude=112.8, grid_code=GRID,
                                   phone_e164=None)
    base.update(kw)
    return Probe(**base)  # type: ignore[arg-type]


def test_duplicate_within_radius_and_window_of_same_matter() -> None:
    rule = DuplicateRule(250, 72)
    case = _case()
    assert find_duplicate(_probe(), [case], rule) == case.case_id  # ~111 m
    assert find_duplicate(_probe(latitude=35.5 + 0.003), [case], rule) is None  # ~333 m
    assert find_duplicate(_probe(matter_code="RD-002"), [case], rule) is None
    assert find_duplicate(_probe(received_at=NOW + timedelta(hours=73)), [case], rule) is None
    assert find_duplicate(_probe(), [case], DuplicateRule(0, 72)) is None  # radius 0: off


def test_duplicate_by_same_citizen_any_place_any_time() -> None:
    case = _case()
    far_later = _probe(latitude=35.9, longitude=113.4, grid_code="x",
                       received_at=NOW + timedelta(days=30), phone_e164="+8613811112222")
    assert find_duplicate(far_later, [case], DuplicateRule(0, 1)) == case.case_id


def test_nearest_case_wins_and_grid_stands_in_for_missing_points() -> None:
    rule = DuplicateRule(250, 72)
    far = _case(latitude=35.5 + 0.0018)
    near = _case(latitude=35.5 + 0.0011)
    assert find_duplicate(_probe(), [far, near], rule) == near.case_id
    no_point = _case(latitude=None, longitude=None)
    assert find_duplicate(_probe(), [no_point], rule) == no_point.case_id
    assert find_duplicate(_probe(grid_code="other"), [no_point], rule) is None


def test_token_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=2.0, capacity=3.0, stamp=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5)
    assert bucket.take(0.5) == 0.0
    assert bucket.take(10.0) == 0.0  # capped at capacity, not 20 tokens
    assert [bucket.take(10.0) for _ in range(3)][-1] == pytest.approx(0.5)


def test_channel_bodies_map_onto_the_appeal_command() -> None:
    call = HotlineCall(ticket_number="12345-0001", caller_phone="13812341234",
                       call_time=NOW, summary="路灯不亮", transcript="门口路灯不亮。",
                       grid_code=GRID, agent_matter_code="RD-003", callback_consent=True)
    cmd = call.to_command()
    assert (cmd.channel, cmd.external_id, cmd.matter_code) == (Channel.HOTLINE, "12345-0001",
                                                               "RD-003")
    assert cmd.title == "路灯不亮" and cmd.content == "门口路灯不亮。"
    assert cmd.occurred_at == NOW and cmd.callback_consent is True

    report = GridAppReport(report_id="r1", grid_code=GRID, grid_worker_id="gw-1",
                           description="杂物堆放", resolved_on_spot=True,
                           resolution_note="已清理", media=["https://m.example/1.jpg", "img-1"])
    cmd = report.to_command()
    assert cmd.channel == Channel.GRID_APP and cmd.resolved_on_spot
    assert cmd.resolution_note == "已清理" and cmd.media == ["https://m.example/1.jpg", "img-1"]

    post = WebBoardMessage(board_id="mayor", message_id="m-9", body="噪音扰民", grid_code=GRID)
    assert post.to_command().external_id == "mayor/m-9"


@pytest.mark.parametrize(("model", "body", "field"), [
    (HotlineCall, {"ticket_number": "t", "call_time": NOW, "grid_code": GRID}, "transcript"),
    (HotlineCall, {"ticket_number": "t", "call_time": NOW, "summary": "x"}, "grid_code"),
    (GridAppReport, {"report_id": "r", "grid_code": GRID, "grid_worker_id": "gw-1",
                     "description": "x", "resolved_on_spot": True}, "resolution_note"),
    (GridAppReport, {"report_id": "r", "grid_code": GRID, "grid_worker_id": "gw-1",
                     "description": "x", "media": ["<script>"]}, "media"),
    (WebBoardMessage, {"board_id": "b", "message_id": "m", "body": "x", "latitude": 35.5},
     "longitude"),
])
def test_invalid_channel_bodies_name_the_rule(model: type, body: dict[str, object],
                                              field: str) -> None:
    with pytest.raises(ValidationError) as info:
        model(**body)
    assert field in str(info.value)
