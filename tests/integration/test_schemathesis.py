"""Schemathesis against each service's live OpenAPI document: no input gives a 5xx.

For each of the four services, the OpenAPI document the running service serves
(/openapi.json) drives schemathesis' cases, sent to the real process of the session
stack: the document's examples, the coverage phase (boundary values of every parameter
and body field), then positive and negative fuzzing, with hostile values mixed
in (NUL characters, dates at the ends of the calendar, integers past 64 bits, see
schemathesis_helpers.HOSTILE). Every answer is checked: never a 5xx, a status the
document lists for the operation, and a body that matches the documented response.

* With keys: each operation gets its rightful caller's development key (intake: a second
  intake process with the channels' dev keys; dispatch and enforcement: "dev-<unit id>",
  on by default on the test stack), so the cases reach the handlers; every other case
  gets, in its path, the id of a real appeal, case or inspection made first.
* Without: no key, an empty one, an unknown one, a dev-looking key of no unit (fuzzing
  only): never a 5xx, and a keyed operation answers 401/403 without describing the body.

The Open311 facade (/open311/v2/...) is part of intake's document and fuzzed with it
(its api_key travels in the body). /v1/stream (analytics' server-sent events, an
endless response) is left out. The inputs that answered 500 before are replayed as
plain requests at the end (test_*_regressions), whatever the generator draws this time.

CIVICGRID_SCHEMATHESIS_EXAMPLES sets the fuzzing examples per operation (default 15);
CIVICGRID_SCHEMATHESIS_FULL=1 adds the coverage phase's negative cases and method probes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
import schemathesis
from civicgrid_stack.stack import Stack

from tests.integration.dispatch_helpers import publish_appeal
from tests.integration.enforcement_helpers import (
    BASE,
    Place,
    evidence,
    patrol_lead,
    post,
    random_place,
)
from tests.integration.helpers import url, wait_for
from tests.integration.intake_helpers import (
    HOTLINE_KEY,
    KeyedIntake,
    grid_with_point,
    hotline_body,
    keyed_intake,
)
from tests.integration.schemathesis_helpers import (
    EXAMPLES,
    FUZZING_ONLY,
    AnyCase,
    Operation,
    Target,
    fuzz,
    load_schema,
    needs_key,
    send_with_key,
    send_without_key,
)

pytestmark = pytest.mark.integration
__all__ = ["keyed_intake"]  # fixture used by name below

#: Fuzzing examples per operation for the missing/wrong key runs (no coverage phase:
#: the key is refused before any input is looked at).
REFUSAL_EXAMPLES = max(3, EXAMPLES // 2)

# -- intake -------------------------------------------------------------------------------

INTAKE_KEYS = {
    "/v1/appeals": "dev-hotline",
    "/v1/channels/hotline/calls": "dev-hotline",
    "/v1/channels/grid-app/reports": "dev-grid_app",
    "/v1/channels/web-boards/messages": "dev-web_board",
    "/v1/triage": "dev-operator",
    "/v1/triage/{appeal_id}/classify": "dev-operator",
    "/v1/callbacks": "dev-hotline",
}
OPEN311_CREATE = "/open311/v2/requests.json"


def _intake_key(op: Operation) -> str | None:
    return INTAKE_KEYS.get(op.path)


def _is_open311_create(op: Operation) -> bool:
    return op.path == OPEN311_CREATE and op.method.upper() == "POST"


def _intake_must_refuse(op: Operation, key: str | None) -> bool:
    """Keyed routes refuse a wrong key; the local stack lets a keyless caller use the
    generic POST /v1/appeals; Open311's api_key is in the body (none is valid here)."""
    if op.path == "/v1/appeals" and op.method.upper() == "POST" and not key:
        return False
    return needs_key(op) or _is_open311_create(op)


def _open311_unreadable(response: schemathesis.Response) -> bool:
    """Open311 finds its api_key in the body: a body it cannot read is a 400 first."""
    if response.status_code != 400:
        return False
    description = str(response.json()[0]["description"])
    return description.startswith(("the body is not", "the body must be"))


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def intake_target(keyed_intake: KeyedIntake) -> Target:
    """The keyed intake, with an appeal waiting in triage and one accepted."""
    async with httpx.AsyncClient(timeout=30) as client:
        unsure = hotline_body(summary=None,
                              transcript="你好，我想反映一个事情，具体情况我也说不太清楚。")
        r = await client.post(keyed_intake.url("/v1/channels/hotline/calls"), json=unsure,
                              headers=HOTLINE_KEY)
        assert r.status_code == 201, r.text
        triage = r.json()
        r = await client.post(keyed_intake.url("/v1/channels/hotline/calls"),
                              json=hotline_body(), headers=HOTLINE_KEY)
        assert r.status_code == 201, r.text
        accepted = r.json()
    grid, lat, lon = grid_with_point()

    def patch(case: AnyCase, real: bool) -> None:
        body = case.body
        if not isinstance(body, dict):
            return
        if _is_open311_create(case.operation):
            body["api_key"] = "dev-open311"
            if real:  # a request that can be placed: through the whole pipeline
                body.update({"service_code": "RD-003", "lat": lat, "long": lon})
        elif real and case.operation.path in INTAKE_KEYS and "grid_code" in body:
            body["grid_code"] = grid  # a real grid: the appeal can be placed and stored
        elif case.operation.path == "/v1/callbacks" and real:
            if "tracking_code" in body:
                body["tracking_code"] = accepted["tracking_code"]
            if "appeal_id" in body:
                body["appeal_id"] = accepted["appeal_id"]

    return Target(
        keyed_intake.base, _intake_key,
        ids={"appeal_id": triage["appeal_id"], "service_request_id": accepted["appeal_id"],
             "tracking_code": accepted["tracking_code"], "token": accepted["tracking_code"],
             "service_code": "RD-003"},
        patch=patch,
    )


def test_intake_with_keys(intake_target: Target) -> None:
    _report("intake", *fuzz(load_schema(intake_target.base_url),
                            lambda case: send_with_key(case, intake_target)))


def test_intake_refuses_missing_and_wrong_keys(stack: Stack) -> None:
    # The session stack's own intake: no channel keys at all, keyless generic allowed.
    target = Target(url(stack, "intake", ""))
    _report("intake", *fuzz(
        load_schema(target.base_url),
        lambda case: send_without_key(case, target, _intake_must_refuse, _open311_unreadable),
        include=lambda op: _intake_must_refuse(op, "x"),
        modes=FUZZING_ONLY, max_examples=REFUSAL_EXAMPLES))


# -- dispatch -----------------------------------------------------------------------------

PLATFORM_KEY = "dev-city-platform"


@dataclass(frozen=True)
class DispatchCase:
    case_id: str
    unit_key: str


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def dispatch_case(stack: Stack) -> DispatchCase:
    """A case assigned to a community committee: its key acts on the workbench."""
    appeal = await publish_appeal(stack)
    conn = await asyncpg.connect(stack.postgres.dsn())
    try:
        async def assigned() -> Any:
            row = await conn.fetchrow("SELECT case_id, unit_id FROM dispatch.cases "
                                      "WHERE appeal_id = $1", appeal.appeal_id)
            return row if row is not None and row["unit_id"] else None
        row = await wait_for(assigned, 60, "the fuzzing case to be assigned")
    finally:
        await conn.close()
    return DispatchCase(str(row["case_id"]), f"dev-{row['unit_id']}")


@pytest.fixture(scope="module")
def dispatch_target(stack: Stack, dispatch_case: DispatchCase) -> Target:
    def key(op: Operation) -> str | None:
        if op.path.startswith("/v1/platform/"):
            return PLATFORM_KEY
        return dispatch_case.unit_key if op.path.startswith("/v1/workbench/") else None

    return Target(url(stack, "dispatch", ""), key, ids={"case_id": dispatch_case.case_id})


def test_dispatch_with_keys(dispatch_target: Target) -> None:
    _report("dispatch", *fuzz(load_schema(dispatch_target.base_url),
                              lambda case: send_with_key(case, dispatch_target)))


def test_dispatch_refuses_missing_and_wrong_keys(stack: Stack) -> None:
    target = Target(url(stack, "dispatch", ""))
    _report("dispatch", *fuzz(load_schema(target.base_url),
                              lambda case: send_without_key(case, target), include=needs_key,
                              modes=FUZZING_ONLY, max_examples=REFUSAL_EXAMPLES))


# -- enforcement --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def enforcement_place() -> Place:
    return random_place()


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def enforcement_target(stack: Stack, enforcement_place: Place) -> Target:
    """A team with a patrol lead and a planned joint inspection."""
    place = enforcement_place
    async with httpx.AsyncClient(timeout=30) as client:
        case_id = await patrol_lead(client, stack, place)
        plan = await post(client, stack, place, "/inspections", {
            "officer_id": "ZF-0001", "grid_code": place.grid_code,
            "business_ref": "91140500MA0L12345X", "planned_for": "2026-12-01",
            "departments": [{"department_kind": "urban_management", "items": ["SV-002"]},
                            {"department_kind": "market_supervision"}]},
            expect=201)
    team_key = place.headers["X-Api-Key"]
    department_key = place.department_headers("urban_management")["X-Api-Key"]

    def key(op: Operation) -> str | None:
        if not needs_key(op):
            return None
        if op.path.startswith(f"{BASE}/inspections/{{inspection_id}}") and (
                op.method.upper() == "GET" or op.path.endswith("/confirmations")):
            return department_key  # a department taking part
        return team_key

    return Target(url(stack, "enforcement", ""), key,
                  ids={"case_id": case_id, "inspection_id": plan["inspection_id"]})


def test_enforcement_with_keys(enforcement_target: Target) -> None:
    _report("enforcement", *fuzz(load_schema(enforcement_target.base_url),
                                 lambda case: send_with_key(case, enforcement_target)))


def test_enforcement_refuses_missing_and_wrong_keys(stack: Stack) -> None:
    target = Target(url(stack, "enforcement", ""))
    _report("enforcement", *fuzz(load_schema(target.base_url),
                                 lambda case: send_without_key(case, target),
                                 include=needs_key, modes=FUZZING_ONLY,
                                 max_examples=REFUSAL_EXAMPLES))


# -- analytics ----------------------------------------------------------------------------


def test_analytics(stack: Stack) -> None:
    target = Target(url(stack, "analytics", ""))
    _report("analytics", *fuzz(load_schema(target.base_url),
                               lambda case: send_with_key(case, target),
                               include=lambda op: op.path != "/v1/stream"))


# -- the inputs that answered 500 before ----------------------------------------------------

NUL = "a\x00b"
FIRST = "0001-01-01T00:00:00+14:00"  # before 0001-01-01 in UTC
LAST = "9999-12-31T23:59:59-14:00"  # after 9999-12-31 in UTC


@dataclass(frozen=True)
class Probe:
    """A request and the answer it must get: a status and, for a 4xx, the field named."""

    method: str
    path: str
    status: int
    names: str = ""
    key: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    data: dict[str, str] | None = None
    content: bytes | None = None

    def send(self, client: httpx.Client, base: str) -> str | None:
        """None if the answer is right, else what is wrong with it."""
        headers = {"X-Api-Key": self.key} if self.key is not None else {}
        if self.content is not None:
            headers["Content-Type"] = "application/json"
        r = client.request(self.method, base + self.path, params=self.params, json=self.json,
                           data=self.data, content=self.content, headers=headers)
        wrong = f"{self.method} {self.path} {self.params or ''}: {r.status_code} {r.text[:300]}"
        if r.status_code != self.status:
            return wrong
        if self.names and self.names not in r.text:
            return f"{wrong} (the field {self.names} is not named)"
        if r.status_code == 422 and not all(
                e.get("field") and e.get("reason") for e in r.json()["errors"]):
            return f"{wrong} (each error needs a field and a reason)"
        if "12341234" in r.text:  # the phone number below, or any personal value
            return f"{wrong} (the answer repeats the input)"
        return None


def _replay(base: str, probes: Iterable[Probe]) -> None:
    with httpx.Client(timeout=30) as client:
        wrong = [w for p in probes if (w := p.send(client, base)) is not None]
    assert not wrong, "\n".join(wrong)


def test_analytics_regressions(stack: Stack) -> None:
    _replay(url(stack, "analytics", ""), [
        Probe("GET", "/v1/overdue", 422, "query.grid_code", params={"grid_code": NUL}),
        Probe("GET", "/v1/indicators", 422, "query.category_code",
              params={"category_code": "\x00"}),
        Probe("GET", "/v1/rankings/units", 422, "query.unit_id", params={"unit_id": NUL}),
        Probe("GET", "/v1/rankings/grid-workers", 422, "query.channel",
              params={"channel": NUL}),
        Probe("GET", "/v1/hotspots", 422, "query.township_code",
              params={"township_code": NUL}),
        Probe("GET", "/v1/indicators", 422, "query.from", params={"from": FIRST}),
        Probe("GET", "/v1/indicators", 422, "query.to", params={"to": LAST}),
        Probe("GET", "/v1/enforcement-indicators", 422, "query.from", params={"from": FIRST}),
        Probe("GET", "/v1/hotspots", 422, "query.from", params={"from": FIRST}),
        Probe("GET", "/v1/rankings/units", 422, "query.min_cases",
              params={"min_cases": str(2**63)}),
        Probe("GET", "/v1/indicators", 200, params={"from": "2026-01-01T00:00:00+08:00"}),
    ])


def test_enforcement_regressions(stack: Stack, enforcement_target: Target,
                                 enforcement_place: Place) -> None:
    place = enforcement_place
    team = place.headers["X-Api-Key"]
    case_id = enforcement_target.ids["case_id"]
    lead = {"officer_id": "ZF-0001", "grid_code": place.grid_code, "description": "店外经营",
            "violation_code": "SV-002", "evidence": [evidence(place)]}
    _replay(url(stack, "enforcement", ""), [
        Probe("GET", f"{BASE}/disclosures", 422, "query.team_unit_id",
              params={"team_unit_id": NUL}),
        Probe("GET", f"{BASE}/disclosures", 422, "query.offset", params={"offset": str(2**63)}),
        Probe("GET", f"{BASE}/cases", 422, "query.offset", team, params={"offset": str(10**30)}),
        Probe("GET", f"{BASE}/inspections", 422, "query.offset", team,
              params={"offset": str(2**63)}),
        Probe("POST", f"{BASE}/leads", 422, "body.description", team,
              json={**lead, "description": NUL}),
        Probe("POST", f"{BASE}/leads", 422, "body.evidence.0.recorded_at", team,
              json={**lead, "evidence": [{**evidence(place), "recorded_at": FIRST}]}),
        Probe("POST", f"{BASE}/cases/{case_id}/evidence", 422, "body.note", team,
              json={**evidence(place), "note": NUL}),
        Probe("POST", f"{BASE}/cases/{case_id}/file", 422, "body.party.phone", team,
              json={"officer_id": "ZF-0001", "party": {
                  "party_type": "individual", "name": "王小明", "phone": "139\x0012341234"}}),
        Probe("POST", f"{BASE}/cases/{case_id}/not-file", 422, "body.reason", team,
              json={"officer_id": "ZF-0001", "reason_code": "other", "reason": NUL}),
        # An undecodable body with no key: refused, not described.
        Probe("POST", f"{BASE}/leads", 401, content=b"\xff{not json"),
        Probe("POST", f"{BASE}/leads", 401, key="not-a-key", content=b'{"a": '),
    ])


def test_dispatch_regressions(stack: Stack, dispatch_case: DispatchCase) -> None:
    case_id, unit = dispatch_case.case_id, dispatch_case.unit_key
    task = f"/v1/workbench/tasks/{case_id}"
    _replay(url(stack, "dispatch", ""), [
        Probe("POST", f"{task}/resolve", 422, "body.result", unit, json={"result": NUL}),
        Probe("POST", f"{task}/return", 422, "body.reason", unit, json={"reason": NUL}),
        Probe("POST", f"{task}/escalate", 422, "body.reason", unit, json={"reason": NUL}),
        Probe("POST", f"{task}/extension", 422, "body.requested_due", unit,
              json={"requested_due": LAST, "reason": "需要更多时间"}),
        Probe("POST", f"/v1/platform/cases/{case_id}/extension-decision", 422, "body.reason",
              PLATFORM_KEY, json={"granted": True, "reason": NUL}),
        Probe("POST", f"{task}/resolve", 401, content=b"\xff\xfe"),
        Probe("POST", f"{task}/resolve", 401, key="dev-no-such-unit", content=b"{"),
    ])


def test_intake_regressions(intake_target: Target) -> None:
    grid, lat, lon = grid_with_point()
    appeal = {"channel": "hotline", "content": "小区门口的路灯坏了", "grid_code": grid}
    open311 = {"api_key": "dev-open311", "service_code": "RD-003", "lat": str(lat),
               "long": str(lon), "description": "路灯不亮"}
    _replay(intake_target.base_url, [
        Probe("POST", "/v1/appeals", 422, "body.external_id", "dev-hotline",
              json={**appeal, "external_id": NUL}),
        Probe("POST", "/v1/appeals", 422, "body.grid_worker_id", "dev-hotline",
              json={**appeal, "grid_worker_id": NUL}),
        Probe("POST", "/v1/appeals", 422, "body.contact_phone", "dev-hotline",
              json={**appeal, "contact_phone": "138\x0012341234"}),
        Probe("POST", "/v1/appeals", 422, "body.occurred_at", "dev-hotline",
              json={**appeal, "occurred_at": FIRST}),
        Probe("POST", "/v1/channels/hotline/calls", 422, "body.call_time", "dev-hotline",
              json=hotline_body(call_time=LAST)),
        # The appeal's own text is cleaned of control characters, NUL included: accepted.
        Probe("POST", "/v1/appeals", 201, "", "dev-hotline",
              json={**appeal, "content": "路灯\x00坏了", "title": NUL}),
        Probe("POST", OPEN311_CREATE, 400, "media_url",
              data={**open311, "media_url": "https://example.org/\x00.jpg"}),
        Probe("POST", OPEN311_CREATE, 403, data={**open311, "api_key": "dev-hotline"}),
        Probe("GET", OPEN311_CREATE, 400, "start_date", params={"start_date": FIRST}),
        Probe("GET", OPEN311_CREATE, 400, "end_date", params={"end_date": LAST}),
        Probe("POST", "/v1/channels/hotline/calls", 401, content=b"\xff"),
        Probe("POST", "/v1/triage/00000000-0000-0000-0000-000000000000/classify", 401,
              key="not-a-key", content=b"[1,"),
    ])


# -- helpers ------------------------------------------------------------------------------


def _report(service: str, statuses: Counter[int], failures: list[str]) -> None:
    sent = statuses.total()
    print(f"{service}: {sent} cases, answered {dict(sorted(statuses.items()))}")
    assert sent > 0, f"{service}: no case was sent"
    assert not failures, (f"{service}: {len(failures)} distinct failure(s) in {sent} cases:\n\n"
                          + "\n\n".join(failures))
