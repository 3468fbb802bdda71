"""Property-based tests of intake's HTTP API on the real stack (hypothesis).

* No input makes intake answer 5xx: arbitrary JSON, near-valid appeals, raw bytes.
* Every 2xx appeal is stored exactly once, and a retry returns the same appeal.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from civicgrid_shared.reference.loader import load_territory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.intake_helpers import KeyedIntake, keyed_intake

pytestmark = pytest.mark.integration
__all__ = ["keyed_intake"]

GRIDS = [g.code for g in load_territory().grids[:200]]
ENDPOINTS = {
    "/v1/appeals": "dev-hotline",
    "/v1/channels/hotline/calls": "dev-hotline",
    "/v1/channels/grid-app/reports": "dev-grid_app",
    "/v1/channels/web-boards/messages": "dev-web_board",
    "/v1/callbacks": "dev-hotline",
    "/v1/triage/00000000-0000-0000-0000-000000000000/classify": "dev-operator",
}

scalars = (st.none() | st.booleans() | st.integers()
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40))
any_json = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                        max_leaves=12)

# Near-valid bodies: the real field names with values that are sometimes right.
phones = st.sampled_from(["13812341234", "+86 139 1234 5678", "110", "abc", "", "1" * 40])
texts = st.text(min_size=0, max_size=60) | st.sampled_from(
    ["路灯坏了", "井盖丢失，很危险", "  ", "\x00\x07控制字符", "噪" * 6000])
grids = st.sampled_from(GRIDS) | st.text(alphabet="0123456789", min_size=18, max_size=21)
finite = st.floats(allow_nan=False, allow_infinity=False)
lats = st.floats(min_value=35.1, max_value=35.9) | finite
lons = st.floats(min_value=112.25, max_value=113.45) | finite
when = st.sampled_from(["2026-11-22T08:00:00+08:00", "2026-11-22T08:00:00", "yesterday"])
matters = st.sampled_from(["RD-003", "CA-001", "ZZ-999", "rd-003"])
ids = st.text(alphabet="ABCDEFGHJK0123456789-", min_size=1, max_size=20)

generic = st.fixed_dictionaries({"channel": st.sampled_from(["hotline", "grid_app", "bogus"]),
                                 "content": texts}, optional={
    "external_id": ids, "grid_code": grids, "latitude": lats, "longitude": lons,
    "contact_phone": phones, "matter_code": matters, "occurred_at": when,
    "resolved_on_spot": st.booleans(), "resolution_note": texts, "title": texts,
    "media": st.lists(st.text(max_size=30), max_size=3)})
hotline = st.fixed_dictionaries({"ticket_number": ids, "call_time": when}, optional={
    "caller_phone": phones, "summary": texts, "transcript": texts, "grid_code": grids,
    "latitude": lats, "longitude": lons, "agent_matter_code": matters,
    "callback_consent": st.booleans()})
grid_app = st.fixed_dictionaries({"report_id": ids, "grid_code": grids,
                                  "grid_worker_id": st.sampled_from(["gw-1", "GW 1", ""]),
                                  "description": texts}, optional={
    "latitude": lats, "longitude": lons, "media": st.lists(st.text(max_size=30), max_size=3),
    "resolved_on_spot": st.booleans(), "resolution_note": texts, "matter_code": matters})
web_board = st.fixed_dictionaries({"board_id": st.sampled_from(["mayor", "bad id!"]),
                                   "message_id": ids, "body": texts}, optional={
    "title": texts, "contact": phones, "grid_code": grids, "latitude": lats,
    "longitude": lons})
near_valid = st.one_of(
    st.tuples(st.just("/v1/appeals"), generic),
    st.tuples(st.just("/v1/channels/hotline/calls"), hotline),
    st.tuples(st.just("/v1/channels/grid-app/reports"), grid_app),
    st.tuples(st.just("/v1/channels/web-boards/messages"), web_board),
)

HYPOTHESIS = settings(max_examples=150, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.function_scoped_fixture,
                                             HealthCheck.too_slow])


def _count_stored(dsn: str, appeal_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    async def count() -> dict[uuid.UUID, int]:
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch(
                "SELECT appeal_id, count(*) AS n FROM intake.appeals "
                "WHERE appeal_id = ANY($1::uuid[]) GROUP BY appeal_id", appeal_ids)
        finally:
            await conn.close()
        return {r["appeal_id"]: r["n"] for r in rows}
    return asyncio.run(count())


def test_no_5xx_for_arbitrary_json(keyed_intake: KeyedIntake) -> None:
    with httpx.Client(timeout=10) as client:
        @HYPOTHESIS
        @given(path=st.sampled_from(sorted(ENDPOINTS)), body=any_json)
        def check(path: str, body: Any) -> None:
            r = client.post(keyed_intake.url(path), json=body,
                            headers={"X-Api-Key": ENDPOINTS[path]})
            assert r.status_code < 500, (path, r.status_code, r.text[:200])
            if r.status_code == 422:
                assert all("field" in e and "reason" in e for e in r.json()["errors"])

        check()

        @HYPOTHESIS
        @given(path=st.sampled_from(sorted(ENDPOINTS)), raw=st.binary(max_size=200))
        def check_bytes(path: str, raw: bytes) -> None:
            r = client.post(keyed_intake.url(path), content=raw,
                            headers={"X-Api-Key": ENDPOINTS[path],
                                     "content-type": "application/json"})
            assert r.status_code < 500, (path, r.status_code)

        check_bytes()

        # Not JSON by the RFC, but Python's parser takes them: still no 5xx.
        for raw in (b'{"latitude": Infinity, "longitude": NaN}', b'[NaN]', b'-Infinity'):
            for path in ENDPOINTS:
                r = client.post(keyed_intake.url(path), content=raw,
                                headers={"X-Api-Key": ENDPOINTS[path],
                                         "content-type": "application/json"})
                assert r.status_code < 500, (path, r.status_code)


def test_every_accepted_appeal_is_stored_once(keyed_intake: KeyedIntake) -> None:
    accepted: list[uuid.UUID] = []
    keys = {"/v1/appeals": "dev-hotline", "/v1/channels/hotline/calls": "dev-hotline",
            "/v1/channels/grid-app/reports": "dev-grid_app",
            "/v1/channels/web-boards/messages": "dev-web_board"}
    with httpx.Client(timeout=10) as client:
        @HYPOTHESIS
        @given(case=near_valid)
        def check(case: tuple[str, dict[str, Any]]) -> None:
            path, body = case
            if path == "/v1/appeals" and body.get("channel") == "grid_app":
                key = "dev-grid_app"
            else:
                key = keys[path]
            # A fresh external id per example, so examples do not collide.
            for field in ("external_id", "ticket_number", "report_id", "message_id"):
                if field in body:
                    body[field] = f"{body[field]}-{uuid.uuid4().hex[:8]}"
            r = client.post(keyed_intake.url(path), json=body, headers={"X-Api-Key": key})
            assert r.status_code < 500, (path, r.status_code, r.text[:200])
            if r.status_code in (200, 201):
                appeal_id = uuid.UUID(r.json()["appeal_id"])
                accepted.append(appeal_id)
                retry = client.post(keyed_intake.url(path), json=body,
                                    headers={"X-Api-Key": key})
                has_external_id = path != "/v1/appeals" or "external_id" in body
                if has_external_id:
                    assert retry.status_code == 200, retry.text[:200]
                    assert retry.json()["appeal_id"] == str(appeal_id)
                    assert retry.json()["duplicate_submission"] is True
                elif retry.status_code in (200, 201):
                    accepted.append(uuid.UUID(retry.json()["appeal_id"]))
                text = json.dumps(r.json())
                assert "13812341234" not in text and "12345678" not in text

        check()
    assert accepted, "no example was accepted: the strategies do not reach the store"
    stored = _count_stored(keyed_intake.stack.postgres.dsn(), accepted)
    assert len(set(accepted)) == len(accepted)
    assert all(stored.get(a) == 1 for a in accepted)
