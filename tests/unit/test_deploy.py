"""The multi-machine deployment, checked as far as this machine can check it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
IN_CI = os.environ.get("CI") == "true"


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_compose_parses_and_has_the_platform() -> None:
    services = _compose()["services"]
    assert {"kafka-1", "kafka-2", "kafka-3", "postgres", "intake", "dispatch", "enforcement",
            "analytics", "prometheus", "grafana"} <= set(services)
    for name in ("kafka-1", "kafka-2", "kafka-3"):
        env = services[name]["environment"]
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == 3
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == 2
        assert "controller" in env["KAFKA_PROCESS_ROLES"]  # KRaft, no ZooKeeper
    for name in ("intake", "dispatch", "enforcement", "analytics"):
        env = services[name]["environment"]
        assert env["CIVICGRID_KAFKA_IDEMPOTENCE"] == "true"
        assert services[name]["command"] == [name]
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"


def test_compose_references_only_files_that_exist() -> None:
    compose = _compose()
    for name, service in compose["services"].items():
        build = service.get("build")
        if build:
            context = (DEPLOY / build["context"]).resolve()
            assert (context / build["dockerfile"]).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name}: {source} does not exist"


def test_entrypoint_knows_every_service_module() -> None:
    script = (DEPLOY / "entrypoint.sh").read_text()
    for service in ("intake", "dispatch", "enforcement", "analytics"):
        assert service in script
        assert (DEPLOY.parent / "services" / service / "src" / f"civicgrid_{service}" /
                "__main__.py").is_file()


def _promtool() -> str:
    tool = shutil.which("promtool")
    if tool is None:
        if IN_CI:
            pytest.fail("promtool missing in CI: scripts/ci-tools.sh installs Debian's prometheus")
        pytest.skip("promtool not installed (Debian package prometheus); CI installs it")
    return tool


def test_prometheus_configuration_and_rules_pass_promtool() -> None:
    tool = _promtool()
    config = DEPLOY / "prometheus" / "prometheus.yml"
    out = subprocess.run([tool, "check", "config", str(config)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    rules = sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))
    assert rules, "no alert rule files"
    out = subprocess.run([tool, "check", "rules", *map(str, rules)], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def _known_metric_names() -> set[str]:
    """Metric names defined in the code (prometheus-client names plus their suffixes)."""
    names: set[str] = set()
    root = DEPLOY.parent
    pattern = re.compile(r'(?:Counter|Gauge|Histogram|Summary)\(\s*"([a-z_:]+)"')
    for path in [*root.glob("shared/src/**/*.py"), *root.glob("services/*/src/**/*.py")]:
        for name in pattern.findall(path.read_text()):
            base = name.removesuffix("_total")
            names |= {name, base, f"{base}_total", f"{base}_bucket", f"{base}_count",
                      f"{base}_sum", f"{base}_created"}
    # FastStream's Prometheus middleware, with our prefix.
    names |= {f"civicgrid_faststream_{n}" for n in (
        "received_messages_total", "received_messages_size_bytes_bucket",
        "received_processed_messages_duration_seconds_bucket", "received_processed_messages_total",
        "received_processed_messages_exceptions_total", "published_messages_total",
        "published_messages_duration_seconds_bucket", "published_messages_exceptions_total",
        "received_messages_in_process")}
    return names


def test_grafana_dashboards_are_json_and_reference_existing_metrics() -> None:
    dashboards = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
    assert dashboards, "no Grafana dashboards"
    known = _known_metric_names() | {"up"}
    for path in dashboards:
        board = json.loads(path.read_text())
        exprs = [t["expr"] for p in board.get("panels", []) for t in p.get("targets", [])
                 if "expr" in t]
        assert exprs, f"{path.name} has no queries"
        for expr in exprs:
            for metric in re.findall(r"\b(civicgrid_[a-z_]+)", expr):
                assert metric in known, f"{path.name}: {metric} is not a metric of the code"
