"""The alert rules (charts/refit/files/alerts.yaml) and the Grafana dashboard: promtool
checks and unit tests, and every metric they query is one the operator exports."""

from __future__ import annotations

import ast
import json
import re
import subprocess
from pathlib import Path

import yaml

from tests.tools import find_tool

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "charts" / "refit" / "files" / "alerts.yaml"
DASHBOARD = REPO / "charts" / "refit" / "files" / "dashboard.json"
UNIT_TESTS = Path(__file__).with_name("alerts_test.yaml")
METRICS_MODULE = REPO / "operator" / "refit" / "adapters" / "metrics.py"
ALERTS = {
    "RefitPipelineFailing",
    "RefitModelStale",
    "RefitDriftNotRetrained",
    "RefitScheduleMissed",
    "RefitOperatorDown",
}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(find_tool("promtool")), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def rules() -> list[dict[str, object]]:
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def test_promtool_check_rules() -> None:
    done = promtool("check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_test_rules() -> None:
    done = promtool("test", "rules", str(UNIT_TESTS))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_five_alerts_are_there_and_documented() -> None:
    found = {str(r["alert"]) for r in rules()}
    assert found == ALERTS
    tested = set(re.findall(r"alertname: (\w+)", UNIT_TESTS.read_text()))
    assert tested == ALERTS
    for rule in rules():
        labels, annotations = rule["labels"], rule["annotations"]
        assert isinstance(labels, dict) and labels["severity"] in {"warning", "critical"}
        assert isinstance(annotations, dict) and {"summary", "description"} <= set(annotations)


def exported_series() -> set[str]:
    """Names of the series the operator's metrics module declares (counters are exposed with
    _total, histograms as _bucket/_sum/_count), plus Prometheus's own `up`. Read from the
    source rather than imported, so this checks names even when the module cannot load."""
    tree = ast.parse(METRICS_MODULE.read_text())
    names = {"up"}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args):
            continue
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            continue
        kind, name = node.func.id, first.value
        if kind == "Counter":
            names.add(name if name.endswith("_total") else f"{name}_total")
        elif kind == "Histogram":
            names.update(f"{name}{suffix}" for suffix in ("_bucket", "_sum", "_count"))
        elif kind == "Gauge":
            names.add(name)
    return names


def queried_series(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers followed by a selector, range or
    operator context, minus functions, keywords and label names."""
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    without_labels = re.sub(r"\{[^}]*\}", "{}", without_strings)
    without_groupings = re.sub(
        r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", without_labels
    )
    names = set(re.findall(r"\b(refit_[a-z_]+|up)\b", without_groupings))
    return names


def test_alerts_and_dashboard_query_only_exported_metrics() -> None:
    exported = exported_series()
    exprs = [str(r["expr"]) for r in rules()]
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        exprs.extend(t["expr"] for t in panel.get("targets", []))
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            exprs.append(variable["query"]["query"])
    used = set().union(*(queried_series(e) for e in exprs))
    assert used, "found no metric names: the parser is broken"
    assert used - exported == set(), "queried but not exported by refit.adapters.metrics"
