"""Grafana dashboards and Prometheus alert rules reference metrics that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import civicgrid_analytics.metrics
import civicgrid_shared.metrics
from prometheus_client import REGISTRY

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NAME = re.compile(r"\bcivicgrid_[a-z_]+\b")


def _exported() -> set[str]:
    assert civicgrid_shared.metrics and civicgrid_analytics.metrics  # registered on import
    names = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        names.update(s.name for s in family.samples)
    names |= {f"{n}_total" for n in list(names)}
    names |= {f"{n}_bucket" for n in list(names)}
    return names


def _referenced() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in (DEPLOY / "prometheus" / "rules").glob("*.yml"):
        text = "\n".join(line for line in path.read_text().splitlines()
                         if "expr:" in line)
        out[str(path)] = set(NAME.findall(text))
    for path in (DEPLOY / "grafana" / "dashboards").glob("*.json"):
        board = json.loads(path.read_text())
        exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
        out[str(path)] = set(NAME.findall(" ".join(exprs)))
    return out


def test_every_referenced_metric_is_exported() -> None:
    exported = _exported()
    referenced = _referenced()
    assert len(referenced) >= 3
    for path, names in referenced.items():
        assert names, path
        assert names <= exported, (path, sorted(names - exported))
