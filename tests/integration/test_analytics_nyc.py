"""Verification on real history: NYC 311 service requests (2011), imported by intake's
history import, replayed by dispatch with their original times, counted by analytics,
and compared with an independent pandas computation on the same CSV file."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import httpx
import pytest
from civicgrid_stack.stack import Stack

from tests.integration.analytics_helpers import run_module
from tests.integration.helpers import url, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT.parent / "shared" / "data" / "311" / "nyc_311_sample_2011.csv"
MAPPING = ROOT / "deploy" / "import" / "nyc_311.toml"  # intake's mapping of the columns
SOURCE = "nyc-311-2011"  # HistoricalRecord.source of the imported rows
IMPORT = "civicgrid_intake.history_import"
# How the mapping turns "Open Data Channel Type" into civicgrid channels (closed_at is
# taken only for the status "Closed").
CHANNELS = {"PHONE": "hotline", "ONLINE": "web_board", "MOBILE": "gov_app",
            "UNKNOWN": "other", "OTHER": "other"}

pd = pytest.importorskip("pandas", reason="pandas is in the root dev group")


def _expected(by: str) -> dict[str, dict[str, Any]]:
    df = pd.read_csv(CSV, dtype=str)
    fmt = "%m/%d/%Y %I:%M:%S %p"

    def local(col: str) -> Any:
        return pd.to_datetime(df[col], format=fmt).dt.tz_localize(
            "America/New_York", ambiguous="NaT", nonexistent="shift_forward")

    df["created"], df["closed"] = local("Created Date"), local("Closed Date")
    df.loc[df["Status"] != "Closed", "closed"] = pd.NaT
    df["hours"] = (df["closed"] - df["created"]).dt.total_seconds() / 3600
    df["channel"] = df["Open Data Channel Type"].map(CHANNELS).fillna("other")
    df["agency"] = df["Agency"]
    out = {}
    for key, g in df.groupby(by):
        closed = g["closed"].notna()
        median = g.loc[closed, "hours"].median()
        out[str(key)] = {"received": len(g), "closed": int(closed.sum()),
                         "disposal_rate": closed.sum() / len(g),
                         "median_handling_hours": None if math.isnan(median) else median}
    return out


@pytest.mark.skipif(importlib.util.find_spec(IMPORT) is None,
                    reason=f"intake's history import ({IMPORT}) is not there yet")
async def test_nyc_311_history_matches_an_independent_computation(stack: Stack) -> None:
    result = run_module(stack, IMPORT, str(CSV), "--mapping", str(MAPPING), timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    params = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z",
              "history_source": SOURCE}
    by_agency, by_channel = _expected("agency"), _expected("channel")
    total = sum(v["received"] for v in by_agency.values())

    async with httpx.AsyncClient(timeout=30) as client:
        async def imported() -> dict[str, Any] | None:
            r = await client.get(url(stack, "analytics", "/v1/indicators"), params=params)
            t = r.json()["total"]
            done = t["received"] == total and t["registered"] == total \
                and t["closed"] == sum(v["closed"] for v in by_agency.values())
            return t if done else None

        await wait_for(imported, timeout=300, what="the whole history in analytics")
        for dim, expected in (("history_agency", by_agency), ("channel", by_channel)):
            r = await client.get(url(stack, "analytics", "/v1/indicators"),
                                 params={**params, "group_by": dim})
            rows = {row["key"]: row for row in r.json()["rows"]}
            assert set(rows) == set(expected), dim
            for key, want in expected.items():
                got = rows[key]
                assert got["received"] == want["received"], (dim, key)
                assert got["accepted"] == want["received"], (dim, key)
                assert got["closed"] == want["closed"], (dim, key)
                assert got["disposal_rate"] == pytest.approx(want["disposal_rate"]), (dim, key)
                if want["median_handling_hours"] is None:
                    assert got["median_handling_hours"] is None, (dim, key)
                else:
                    assert got["median_handling_hours"] == pytest.approx(
                        want["median_handling_hours"], abs=0.01), (dim, key)
