"""Joint handling, hand-overs and re-dispatch: the routing table on top of ``route``, on
the real reference data (units.json, matters.json)."""

from __future__ import annotations

import pytest
from civicgrid_dispatch.adapters.reference import ReferenceMatters, ReferenceUnits
from civicgrid_dispatch.domain.routing import MatterRule, plan_dispatch, route
from civicgrid_dispatch.domain.wages import (
    mentions_wages,
    parse_wage_claim,
    takes_green_channel,
)
from civicgrid_dispatch.service_layer.handlers import history_unit
from civicgrid_shared.contracts.events import TerritoryRef

UNITS = ReferenceUnits()
MATTERS = ReferenceMatters()
HERE = TerritoryRef(county_code="140502", township_code="140502001",
                    community_code="140502001001", grid_code="14050014050200100101")


def rule(code: str) -> MatterRule:
    found = MATTERS.rule(code)
    assert found is not None
    return found


def test_plain_event_goes_to_the_community() -> None:
    p = plan_dispatch(rule("CA-003"), HERE, UNITS)
    assert (p.lead.unit_id, p.lead.tier, p.cooperating, p.handover) == (
        "community-140502001001-committee", "community", (), None)


def test_enforcement_matter_goes_to_the_township_team_with_the_owner() -> None:
    p = plan_dispatch(rule("EF-001"), HERE, UNITS)  # 占道经营
    assert p.lead.unit_id == "township-140502001-enforcement" and p.lead.tier == "township"
    assert p.cooperating == ("county-140502-urban-management",)
    assert p.handover == "enforcement"


def test_grassroots_dispute_is_led_by_the_community_mediation_committee() -> None:
    p = plan_dispatch(rule("DS-001"), HERE, UNITS)  # 邻里纠纷
    assert p.lead.unit_id == "community-140502001001-mediation"
    assert p.handover == "mediation"
    assert p.cooperating == ("community-140502001001-committee",)


def test_township_dispute_without_community_falls_back_to_the_township_committee() -> None:
    there = TerritoryRef(county_code="140502", township_code="140502001")
    p = plan_dispatch(rule("DS-003"), there, UNITS)  # 土地承包纠纷
    assert (p.lead.unit_id, p.lead.tier) == ("township-140502001-mediation", "township")


def test_county_level_dispute_stays_with_the_department_and_mediation_cooperates() -> None:
    p = plan_dispatch(rule("LB-001"), HERE, UNITS)  # 拖欠农民工工资, no green channel
    assert p.lead.unit_id == "county-140502-labour-inspection"
    assert p.cooperating == ("township-140502001-mediation",) and p.handover is None


def test_green_channel_labour_inspection_leads_with_the_procuratorate() -> None:
    p = plan_dispatch(rule("LB-002"), HERE, UNITS, green_channel=True)
    assert p.lead.unit_id == "county-140502-labour-inspection"
    assert p.cooperating == ("county-140502-procuratorate",)
    assert (p.handover, p.priority) == ("green_channel", "emergency")


def test_redispatch_skips_the_units_that_returned_it() -> None:
    first = plan_dispatch(rule("CA-003"), HERE, UNITS).lead.unit_id
    second = plan_dispatch(rule("CA-003"), HERE, UNITS, exclude=frozenset({first})).lead
    assert second.unit_id == "county-140502-urban-management"
    third = route(rule("CA-003"), HERE, UNITS,
                  exclude=frozenset({first, second.unit_id}))
    assert third.unit_id == UNITS.city_platform


def test_unpaid_wage_matters_are_found_by_keyword() -> None:
    assert MATTERS.is_unpaid_wages("LB-001") and MATTERS.is_unpaid_wages("LB-002")
    assert not MATTERS.is_unpaid_wages("CA-003")


@pytest.mark.parametrize(("text", "workers", "amount"), [
    ("包工头拖欠28名工人工资共18万元", 28, 180_000),
    ("工人共12名被欠薪，约5000元", 12, 5_000),
    ("欠我工资3500元", None, 3_500),
    ("拖欠工资1.5万元，涉及3人", 3, 15_000),
    ("老板跑路了，工资没发", None, None),
])
def test_wage_claims_are_read_from_the_text(text: str, workers: int | None,
                                             amount: float | None) -> None:
    claim = parse_wage_claim(text)
    assert (claim.workers, claim.amount_yuan) == (workers, amount)


def test_green_channel_thresholds() -> None:
    assert takes_green_channel(parse_wage_claim("28名工人"), 10, 100_000)
    assert takes_green_channel(parse_wage_claim("欠薪12万元"), 10, 100_000)
    assert not takes_green_channel(parse_wage_claim("3名工人欠薪2万元"), 10, 100_000)
    assert mentions_wages("拖欠工资") and not mentions_wages("路灯坏了")


def test_history_units_are_slugs_of_the_agency() -> None:
    assert history_unit("DOT") == "history-dot"
    assert history_unit("NYC Parks/Rec") == "history-nyc-parks-rec"
    assert history_unit("***") == "history-unknown"
