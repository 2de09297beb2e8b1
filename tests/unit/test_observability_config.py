"""Prometheus rules, the Grafana dashboard and compose's published ports, checked offline.

The rules go through ``promtool`` (Debian's ``prometheus`` package; ``.ci/run`` installs it),
and every metric the rules and the dashboard use must be one the code really exports: a renamed
metric would otherwise leave an alert that can never fire.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

import api.metrics
import ecs.stream.metrics
from ecs.observability import WORKER_METRICS

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
METRIC = re.compile(r"\b((?:ecs|temporal)_[a-z0-9_]+)")
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is missing: apt-get install prometheus (Debian's package has it)")
    return path


def test_promtool_accepts_the_rules_and_the_scrape_config() -> None:
    for args in (
        ["check", "rules", str(DEPLOY / "prometheus" / "alerts.yml")],
        ["check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")],
    ):
        result = subprocess.run([_promtool(), *args], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def _expressions() -> list[str]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard: dict[str, Any] = json.loads((DEPLOY / "grafana/dashboards/ecs.json").read_text())
    exprs += [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    return exprs


def _base(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def _exported() -> set[str]:
    assert api.metrics.REQUESTS and ecs.stream.metrics.LAG  # both modules registered
    names = {metric.name for collector in REGISTRY.collect() for metric in [collector]}
    return names | set(WORKER_METRICS)


def test_every_metric_in_the_rules_and_the_dashboard_is_exported() -> None:
    exported = _exported()
    used = {_base(m) for expr in _expressions() for m in METRIC.findall(expr)}
    assert used, "no metric found in the rules and the dashboard"
    unknown = sorted(name for name in used if name not in exported)
    assert not unknown, f"used but never exported: {unknown}"


def test_every_dashboard_panel_has_a_query_and_a_unique_place() -> None:
    dashboard = json.loads((DEPLOY / "grafana/dashboards/ecs.json").read_text())
    places = [(p["gridPos"]["x"], p["gridPos"]["y"]) for p in dashboard["panels"]]
    assert len(places) == len(set(places))
    assert all(panel["targets"] for panel in dashboard["panels"])


def test_operator_ports_are_published_on_loopback_only() -> None:
    """Whoever reaches Temporal can signal or update any workflow: never on every interface."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            if name == "api":
                continue
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} publicly"
