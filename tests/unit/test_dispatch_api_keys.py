"""Workbench API keys: hashed file entries, dev keys, and the key file's format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from civicgrid_dispatch.adapters.api_keys import ApiKeys, KeyFileError, key_hash, load_key_file
from civicgrid_dispatch.bootstrap import DEFAULT_KEYS_FILE, DispatchSettings

UNITS = {"township-140502001-office", "city-platform"}


def test_file_keys_are_matched_by_hash(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"version": "1", "keys": [
        {"sha256": key_hash("s3cret-township"), "unit_id": "township-140502001-office"}]}))
    keys = ApiKeys(load_key_file(path), UNITS.__contains__)
    assert keys.unit_for("s3cret-township") == "township-140502001-office"
    assert keys.unit_for("s3cret-townshiP") is None
    assert keys.unit_for(None) is None and keys.unit_for("") is None
    assert "s3cret" not in path.read_text()


def test_dev_keys_only_when_enabled_and_only_for_known_units() -> None:
    on = ApiKeys({}, UNITS.__contains__, dev_keys=True)
    off = ApiKeys({}, UNITS.__contains__, dev_keys=False)
    assert on.unit_for("dev-city-platform") == "city-platform"
    assert on.unit_for("dev-no-such-unit") is None
    assert off.unit_for("dev-city-platform") is None


@pytest.mark.parametrize("doc", [
    {"keys": []},
    {"version": "9", "keys": []},
    {"version": "1", "keys": [{"sha256": "abc", "unit_id": "x"}]},
    {"version": "1", "keys": {"a": "b"}},
])
def test_bad_key_files_are_refused(tmp_path: Path, doc: object) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyFileError):
        load_key_file(path)


def test_the_shipped_key_file_is_valid_and_empty() -> None:
    assert load_key_file(DEFAULT_KEYS_FILE) == {}


def test_dev_keys_default_follows_the_environment() -> None:
    assert DispatchSettings(env="local").dev_keys_enabled
    assert not DispatchSettings(env="production").dev_keys_enabled
    assert DispatchSettings(env="production", dev_unit_keys=True).dev_keys_enabled
