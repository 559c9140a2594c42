"""Security scan of the rendered chart with checkov (and kube-linter when it is installed).

The chart is rendered in the configurations users run (cluster-wide with monitoring, and
namespaced with the bundled MLflow), so optional templates are scanned too. Checks that do
not apply are skipped in checkov.yaml beside this file, each with its reason.

Run by tests/chart/test_scan.py; `make chart-scan` prints checkov's full report:
    python -m tests.chart.scan
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.chart.render import render_chart

CONFIG = Path(__file__).with_name("checkov.yaml")
# Production pins images by digest (a placeholder one here: checkov reads, never pulls).
DIGEST = "sha256:" + "0" * 64
SCANNED = {
    "cluster-wide": {
        "image": {"digest": DIGEST},
        "serviceMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
    },
    "namespaced-mlflow": {
        "image": {"digest": DIGEST},
        "watchNamespaces": ["team-a", "team-b"],
        "mlflow": {"enabled": True, "image": {"digest": DIGEST}},
    },
}


def write_manifests(directory: Path) -> list[Path]:
    """One multi-document file per configuration."""
    paths = []
    for name, values in SCANNED.items():
        path = directory / f"{name}.yaml"
        path.write_text(yaml.safe_dump_all(render_chart(values), sort_keys=False))
        paths.append(path)
    return paths


def checkov(tool: Path, directory: Path, output: str = "json") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(tool),
            "--config-file",
            str(CONFIG),
            "--directory",
            str(directory),
            "--output",
            output,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def failed_checks(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """checkov's failed checks (its JSON is one report, or a list of them per framework)."""
    try:
        reports = json.loads(done.stdout)
    except json.JSONDecodeError as e:
        raise AssertionError(f"checkov printed no JSON:\n{done.stderr[-3000:]}") from e
    if isinstance(reports, dict):
        reports = [reports]
    failed: list[dict[str, Any]] = []
    for report in reports:
        failed.extend(report.get("results", {}).get("failed_checks", []))
    return failed


def describe(check: dict[str, Any]) -> str:
    severity = check.get("severity") or "no severity (checkov without a platform key)"
    return (
        f"{check['check_id']} {check['check_name']} [{severity}] "
        f"{check.get('resource')} in {Path(check.get('file_path', '')).name}"
    )


def main() -> int:
    import tempfile

    from tests.tools import locate_tool

    tool = locate_tool("checkov")
    if tool is None:
        print("checkov is not installed: run .ci/install-tools.sh", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        write_manifests(Path(tmp))
        done = checkov(tool, Path(tmp), output="cli")
    print(done.stdout, done.stderr, sep="\n")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
