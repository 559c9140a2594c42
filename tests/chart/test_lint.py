"""helm lint, and the values schema refusing what would install a broken operator."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from tests.chart.render import CHART, helm, render_error

MODES = {
    "cluster-wide": {},
    "namespaced": {"watchNamespaces": ["team-a", "team-b"]},
    "everything-on": {
        "watchNamespaces": ["team-a"],
        "mlflow": {"enabled": True},
        "serviceMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
    },
}


@pytest.mark.parametrize("values", MODES.values(), ids=MODES.keys())
def test_helm_lint_strict(values: dict[str, object]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        values_file = Path(tmp) / "values.json"
        values_file.write_text(json.dumps(values))
        done = helm("lint", "--strict", str(CHART), "-f", str(values_file))
    assert "0 chart(s) failed" in done.stdout, done.stdout


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"replicasCount": 1}, "replicasCount"),  # a typo is an error, not ignored
        ({"replicaCount": 4}, "replicaCount"),  # standbys beyond 2 buy nothing
        ({"watchNamespaces": ["Team_A"]}, "watchNamespaces"),
        ({"operator": {"logFormat": "xml"}}, "logFormat"),
        ({"image": {"digest": "latest"}}, "digest"),
        ({"prometheusRule": {"disabledAlerts": ["NoSuchAlert"]}}, "disabledAlerts"),
    ],
)
def test_schema_refuses(values: dict[str, object], complaint: str) -> None:
    assert complaint in render_error(values)
