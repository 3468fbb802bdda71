from civicgrid_dispatch.domain.routing import MatterRule, route
from civicgrid_shared.contracts.events import TerritoryRef

T = TerritoryRef(county_code="140502", township_code="140502001",
                 community_code="140502001002", grid_code="1" * 20)


class Units:
    city_platform = "city-platform"

    def __init__(self, known: dict[tuple[str, str], str]) -> None:
        self.known = known

    def find(self, kind: str, territory_code: str) -> str | None:
        return self.known.get((kind, territory_code))


ALL = Units({
    ("urban_management", "140502"): "county-urban",
    ("community_committee", "140502001002"): "community-2",
    ("township_office", "140502001"): "township-1",
})


def _matter(nature: str, tier: str, dept: str = "urban_management") -> MatterRule:
    return MatterRule(code="CA-001", category_code="CA", nature=nature, department_kind=dept,
                      expected_tier=tier, priority="normal", sign_for_hours=2,
                      resolve_amount=7, resolve_unit="working_days")


def test_component_goes_to_its_owner_first() -> None:
    a = route(_matter("component", "community"), T, ALL)
    assert (a.unit_id, a.tier) == ("county-urban", "county")


def test_event_goes_to_the_territory_first() -> None:
    assert route(_matter("event", "community"), T, ALL).unit_id == "community-2"
    assert route(_matter("event", "grid"), T, ALL).tier == "grid"
    assert route(_matter("event", "township"), T, ALL).unit_id == "township-1"


def test_event_falls_back_to_owner_when_territory_has_no_unit() -> None:
    units = Units({("urban_management", "140502"): "county-urban"})
    assert route(_matter("event", "township"), T, units).unit_id == "county-urban"


def test_county_tier_event_goes_to_the_department() -> None:
    assert route(_matter("event", "county"), T, ALL).unit_id == "county-urban"


def test_nobody_fits_goes_to_city_platform() -> None:
    a = route(_matter("event", "county", dept="tax"), TerritoryRef(), Units({}))
    assert (a.unit_id, a.tier) == ("city-platform", "city")
