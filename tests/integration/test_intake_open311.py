"""Open311 GeoReport v2 facade: responses validate against the spec's JSON Schemas."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.intake_helpers import KeyedIntake, grid_with_point, keyed_intake

jsonschema = pytest.importorskip("jsonschema")
referencing = pytest.importorskip("referencing")

pytestmark = pytest.mark.integration
__all__ = ["keyed_intake"]

SCHEMAS = Path("/work/shared/data/open311-schema")
if not SCHEMAS.is_dir():  # CI: shared/ sits beside the clone
    SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "data" / "open311-schema"


def _validator(name: str) -> Any:
    resources = []
    for path in SCHEMAS.glob("*.json"):
        if path.name == "swagger.json":
            continue
        contents = json.loads(path.read_text())
        resources.append((path.name, referencing.Resource.from_contents(
            contents, default_specification=referencing.jsonschema.DRAFT7)))
    registry = referencing.Registry().with_resources(resources)
    schema = json.loads((SCHEMAS / name).read_text())
    return jsonschema.Draft7Validator(schema, registry=registry,
                                      format_checker=jsonschema.FormatChecker())


def _valid(name: str, document: Any) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}"
              for e in _validator(name).iter_errors(document)]
    assert not errors, errors[:5]


def _spec_error(response: httpx.Response, code: int) -> None:
    assert response.status_code == code, response.text
    body = response.json()
    assert isinstance(body, list) and body and body[0]["code"] == code
    assert isinstance(body[0]["description"], str)


async def test_open311_services_requests_and_errors(keyed_intake: KeyedIntake) -> None:
    base = keyed_intake.url("/open311/v2")
    _, lat, lon = grid_with_point()
    phone = "13812349876"
    async with httpx.AsyncClient(timeout=10) as client:
        services = await client.get(f"{base}/services.json")
        assert services.status_code == 200
        _valid("services.json", services.json())
        codes = {s["service_code"] for s in services.json()}
        assert "RD-003" in codes and len(codes) == 190
        definition = await client.get(f"{base}/services/RD-003.json")
        _valid("service-definition.json", definition.json())
        _spec_error(await client.get(f"{base}/services/XX-999.json"), 404)

        form = {"api_key": "dev-open311", "service_code": "RD-003", "lat": str(lat),
                "long": str(lon), "description": "路灯不亮，晚上很黑。", "phone": phone,
                "first_name": "张"}
        created_form = await client.post(f"{base}/requests.json", data=form)
        created_json = await client.post(f"{base}/requests.json",
                                         json={**form, "lat": lat, "long": lon})
        for created in (created_form, created_json):
            assert created.status_code == 200, created.text
            [answer] = created.json()
            assert answer["service_request_id"] and answer["token"]
        request_id = created_form.json()[0]["service_request_id"]
        token = created_form.json()[0]["token"]

        one = await client.get(f"{base}/requests/{request_id}.json")
        assert one.status_code == 200
        _valid("requests.json", one.json())
        assert one.json()[0]["service_code"] == "RD-003"
        assert phone not in one.text and "张" not in one.text

        start = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        listing = await client.get(f"{base}/requests.json", params={
            "service_code": "RD-003", "start_date": start, "status": "open"})
        assert listing.status_code == 200
        _valid("requests.json", listing.json())
        assert request_id in {r["service_request_id"] for r in listing.json()}
        by_id = await client.get(f"{base}/requests.json",
                                 params={"service_request_id": request_id})
        assert [r["service_request_id"] for r in by_id.json()] == [request_id]
        tokens = await client.get(f"{base}/tokens/{token}.json")
        assert tokens.json() == [{"token": token, "service_request_id": request_id}]

        _spec_error(await client.post(f"{base}/requests.json", data={**form, "api_key": "x"}),
                    403)
        _spec_error(await client.post(f"{base}/requests.json",
                                      data={**form, "api_key": "dev-hotline"}), 403)
        no_code = {k: v for k, v in form.items() if k != "service_code"}
        _spec_error(await client.post(f"{base}/requests.json", data=no_code), 400)
        address_only = {k: v for k, v in form.items() if k not in ("lat", "long")}
        _spec_error(await client.post(f"{base}/requests.json",
                                      data={**address_only, "address_string": "1 Main St"}),
                    400)
        _spec_error(await client.post(f"{base}/requests.json",
                                      data={**form, "lat": "0", "long": "0"}), 400)
        _spec_error(await client.get(f"{base}/requests/{uuid.uuid4()}.json"), 404)
        _spec_error(await client.get(f"{base}/requests.json", params={"start_date": "soon"}),
                    400)
        _spec_error(await client.get(f"{base}/requests.json", params={"status": "lost"}), 400)
