"""Build the handling units (承办单位) for a generated territory."""

from __future__ import annotations

from typing import Any

# (kind, county-level name suffix, city-level name suffix). Names are "<area><suffix>".
DEPARTMENTS: tuple[tuple[str, str, str], ...] = (
    ("urban_management", "城市管理局", "城市管理局"),
    ("market_supervision", "市场监督管理局", "市场监督管理局"),
    ("public_security", "公安局", "公安局"),
    ("traffic_police", "公安局交通警察大队", "公安局交通警察支队"),
    ("human_resources", "人力资源和社会保障局", "人力资源和社会保障局"),
    ("labour_inspection", "劳动保障监察大队", "劳动保障监察支队"),
    ("housing_construction", "住房和城乡建设局", "住房和城乡建设局"),
    ("ecology_environment", "生态环境分局", "生态环境局"),
    ("health", "卫生健康局", "卫生健康委员会"),
    ("emergency_management", "应急管理局", "应急管理局"),
    ("fire_rescue", "消防救援大队", "消防救援支队"),
    ("civil_affairs", "民政局", "民政局"),
    ("medical_insurance", "医疗保障局", "医疗保障局"),
    ("tax", "税务局", "税务局"),
    ("natural_resources", "自然资源局", "自然资源和规划局"),
    ("agriculture", "农业农村局", "农业农村局"),
    ("transport", "交通运输局", "交通运输局"),
    ("education", "教育局", "教育局"),
    ("justice", "司法局", "司法局"),
    ("petitions", "信访局", "信访局"),
    ("procuratorate", "人民检察院", "人民检察院"),
    ("culture_tourism", "文化和旅游局", "文化和旅游局"),
    ("water_resources", "水务局", "水务局"),
)
UTILITIES: tuple[tuple[str, str], ...] = (
    ("power_supply", "供电公司"),
    ("water_supply", "供水有限公司"),
    ("gas_supply", "燃气有限公司"),
    ("heating_supply", "热力有限公司"),
)
CITY_PLATFORM_ID = "city-platform"


def _slug(kind: str) -> str:
    return kind.replace("_", "-")


def _unit(
    uid: str, name: str, kind: str, tier: str, code: str, parent: str | None
) -> dict[str, Any]:
    return {
        "id": uid,
        "name": name,
        "kind": kind,
        "tier": tier,
        "territory_code": code,
        "parent_id": parent,
    }


def _short(county_name: str) -> str:
    """泽州区 -> 泽州: city bureaus name their county branches by the bare name."""
    return county_name[:-1]


def _county_department_name(city: str, county: str, kind: str, suffix: str) -> str:
    if kind == "ecology_environment":
        return f"{city}生态环境局{_short(county)}分局"  # a branch of the city bureau
    if kind == "tax":
        return f"国家税务总局{county}税务局"
    if kind == "power_supply":
        return f"国网{county}供电公司"
    return f"{county}{suffix}"


def build_units(territory: dict[str, Any]) -> list[dict[str, Any]]:
    """Every unit, parents before children; parent_id is the escalation target."""
    city = territory["city"]
    city_name = city["name"]
    units = [
        _unit(
            CITY_PLATFORM_ID,
            f"{city_name}12345政务服务便民热线中心（城市运行管理服务指挥中心）",
            "city_platform",
            "city",
            city["code"],
            None,
        )
    ]
    city_kinds = [(kind, city_suffix) for kind, _, city_suffix in DEPARTMENTS] + list(UTILITIES)
    for kind, suffix in city_kinds:
        name = f"国家税务总局{city_name}税务局" if kind == "tax" else f"{city_name}{suffix}"
        if kind == "power_supply":
            name = f"国网{city_name}供电公司"
        units.append(
            _unit(f"city-{_slug(kind)}", name, kind, "city", city["code"], CITY_PLATFORM_ID)
        )

    county_kinds = [(kind, suffix) for kind, suffix, _ in DEPARTMENTS] + list(UTILITIES)
    for county in territory["counties"]:
        code, name = county["code"], county["name"]
        command_id = f"county-{code}-command-centre"
        units.append(
            _unit(
                command_id,
                f"{name}社会治理综合指挥中心（12345分中心）",
                "command_centre",
                "county",
                code,
                CITY_PLATFORM_ID,
            )
        )
        for kind, suffix in county_kinds:
            units.append(
                _unit(
                    f"county-{code}-{_slug(kind)}",
                    _county_department_name(city_name, name, kind, suffix),
                    kind,
                    "county",
                    code,
                    f"city-{_slug(kind)}",  # escalates to the city body of its line
                )
            )

    for township in territory["townships"]:
        code, name = township["code"], township["name"]
        county_code = township["county_code"]
        office_id = f"township-{code}-office"
        office = f"{name}办事处" if township["kind"] == "street" else f"{name}人民政府"
        units.append(
            _unit(
                office_id,
                office,
                "township_office",
                "township",
                code,
                f"county-{county_code}-command-centre",
            )
        )
        units.append(
            _unit(
                f"township-{code}-enforcement",
                f"{name}综合行政执法队",
                "enforcement_team",
                "township",
                code,
                office_id,
            )
        )
        units.append(
            _unit(
                f"township-{code}-mediation",
                f"{name}人民调解委员会",
                "mediation_committee",
                "township",
                code,
                office_id,
            )
        )

    for community in territory["communities"]:
        code, name = community["code"], community["name"]
        township_code = community["township_code"]
        committee_id = f"community-{code}-committee"
        committee = f"{name}居民委员会" if community["kind"] == "community" else f"{name}村民委员会"
        units.append(
            _unit(
                committee_id,
                committee,
                "community_committee",
                "community",
                code,
                f"township-{township_code}-office",
            )
        )
        units.append(
            _unit(
                f"community-{code}-mediation",
                f"{name}人民调解委员会",
                "mediation_committee",
                "community",
                code,
                f"township-{township_code}-mediation",  # disputes go up the mediation line
            )
        )

    for grid in territory["grids"]:
        units.append(
            _unit(
                f"grid-{grid['code']}",
                f"{grid['name']}（网格员 {grid['worker_code']}）",
                "grid",
                "grid",
                grid["code"],
                f"community-{grid['community_code']}-committee",
            )
        )
    return units
