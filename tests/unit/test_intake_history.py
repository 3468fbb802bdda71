"""History import: the NYC 311 mapping file and row mapping (pure, no database)."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from civicgrid_intake.domain.history import RowRejected, map_row
from civicgrid_intake.history_import import MappingError, first_grids, load_mapping
from civicgrid_shared.contracts.events import Channel

ROOT = Path(__file__).resolve().parents[2]
MAPPING = ROOT / "deploy" / "import" / "nyc_311.toml"
NYC = Path("/work/shared/data/311/nyc_311_sample_2011.csv")
if not NYC.is_file():
    NYC = ROOT.parent / "shared" / "data" / "311" / "nyc_311_sample_2011.csv"

ROW = {"Unique Key": "19937901", "Created Date": "03/01/2011 10:41:13 AM",
       "Closed Date": "03/15/2011 04:14:19 PM", "Agency": "DOT",
       "Complaint Type": "Street Sign - Dangling", "Descriptor": "Street Cleaning - ASP",
       "Status": "Closed", "Open Data Channel Type": "PHONE", "Borough": "BROOKLYN",
       "Incident Address": "186 25 STREET"}


def test_row_maps_to_appeal_with_original_times() -> None:
    mapping = load_mapping(MAPPING)
    grids = first_grids()
    item = map_row(ROW, mapping, grids.get)
    ny = ZoneInfo("America/New_York")
    assert item.history.created_at == datetime(2011, 3, 1, 10, 41, 13, tzinfo=ny)
    assert item.history.closed_at == datetime(2011, 3, 15, 16, 14, 19, tzinfo=ny)
    assert (item.history.status, item.history.agency) == ("Closed", "DOT")
    assert item.history.category == "Street Sign - Dangling"
    cmd = item.command
    assert cmd.channel == Channel.HOTLINE and cmd.external_id == "nyc-311-2011:19937901"
    assert cmd.matter_code == "RD-010"
    assert cmd.grid_code == grids["140503"]  # Brooklyn → 140503's first grid
    assert "25 STREET" not in cmd.content  # no address imported


def test_open_rows_unknown_channels_and_unmapped_categories() -> None:
    mapping = load_mapping(MAPPING)
    row = {**ROW, "Status": "Assigned", "Open Data Channel Type": "UNKNOWN",
           "Complaint Type": "SCRIE", "Borough": "Unspecified"}
    item = map_row(row, mapping, first_grids().get)
    assert item.history.closed_at is None  # not closed: no closed time, even if given
    assert item.command.channel == Channel.OTHER
    assert item.command.matter_code is None
    assert item.command.grid_code == first_grids()["140526"]


@pytest.mark.parametrize(("change", "reason"), [
    ({"Unique Key": ""}, "Unique Key: missing"),
    ({"Created Date": "2011-03-01"}, "Created Date: not a date"),
    ({"Closed Date": "02/01/2011 10:00:00 AM"}, "Closed Date: before Created Date"),
])
def test_bad_rows_are_rejected_with_a_reason(change: dict[str, str], reason: str) -> None:
    with pytest.raises(RowRejected, match=reason):
        map_row({**ROW, **change}, load_mapping(MAPPING), first_grids().get)


def test_every_sample_row_maps(tmp_path: Path) -> None:
    mapping = load_mapping(MAPPING)
    grids = first_grids()
    with NYC.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    mapped = [map_row(r, mapping, grids.get) for r in rows]
    assert len(mapped) == len(rows) >= 999
    assert sum(m.command.matter_code is not None for m in mapped) > len(rows) // 2


def test_mapping_file_is_validated(tmp_path: Path) -> None:
    bad = tmp_path / "m.toml"
    bad.write_text(MAPPING.read_text("utf-8").replace('"EV-002"', '"ZZ-999"', 1), "utf-8")
    with pytest.raises(MappingError, match="not in the catalog"):
        load_mapping(bad)
    worse = tmp_path / "w.toml"
    worse.write_text(MAPPING.read_text("utf-8").replace("America/New_York", "Mars/Olympus"),
                     "utf-8")
    with pytest.raises(MappingError, match="timezone"):
        load_mapping(worse)
