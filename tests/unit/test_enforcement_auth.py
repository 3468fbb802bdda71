"""API keys per unit: compared by SHA-256 hash; dev keys only when enabled."""

from __future__ import annotations

import hashlib

import pytest
from civicgrid_enforcement.adapters.reference import UnitInfo
from civicgrid_enforcement.entrypoints.auth import UnitKeys

TEAM = UnitInfo("township-140502001-enforcement", "enforcement_team", "township", "140502001",
                "春峰街道综合行政执法队")
UNITS = {TEAM.id: TEAM}


def test_configured_key_is_matched_by_its_hash() -> None:
    keys = UnitKeys(UNITS, {TEAM.id: hashlib.sha256(b"s3cret-key").hexdigest()})
    assert keys.identify("s3cret-key") == TEAM
    assert keys.identify("s3cret-kez") is None
    assert keys.identify(None) is None and keys.identify("") is None
    assert keys.identify(f"dev-{TEAM.id}") is None  # dev keys are off by default


def test_dev_keys_only_when_enabled() -> None:
    keys = UnitKeys(UNITS, {}, dev_keys=True)
    assert keys.identify(f"dev-{TEAM.id}") == TEAM


def test_key_for_an_unknown_unit_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="unknown unit"):
        UnitKeys(UNITS, {"nobody": "00" * 32})


def test_dev_keys_default_to_local_environments_only() -> None:
    from civicgrid_enforcement.bootstrap import EnforcementSettings

    assert EnforcementSettings(env="local").dev_keys_enabled
    assert not EnforcementSettings(env="production").dev_keys_enabled
    assert not EnforcementSettings(env="local", dev_unit_keys=False).dev_keys_enabled
