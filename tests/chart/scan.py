"""Security and best-practice scans of the rendered chart: checkov and kube-score.

The chart is rendered in the configurations users run (cluster-wide with monitoring, and
namespaced with the bundled MLflow), so optional templates are scanned too. Checks that do
not apply are skipped in checkov.yaml beside this file, each with its reason; kube-score's in
KUBE_SCORE_IGNORED and KUBE_SCORE_ACCEPTED_WARNINGS below. (kube-score stands in for kube-linter,
which the Go module proxy here refuses: 403 Forbidden.)

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


# kube-score checks turned off, each with its reason.
KUBE_SCORE_IGNORED = {
    # Images are pinned by digest in production (immutable), and `make kind-e2e` side-loads
    # them with `kind load`, which only IfNotPresent/Never can use. Always adds a registry
    # round trip per start and breaks air-gapped clusters.
    "container-image-pull-policy": "digest-pinned images; kind load needs IfNotPresent",
}
# Warnings (grade 5) that are decisions, not oversights. Anything else fails the test.
KUBE_SCORE_ACCEPTED_WARNINGS = {
    # One active operator by design (DESIGN.md: a single writer; peering guards a second).
    "deployment-replicas": "single active replica by design",
    # Recreate, so two operator versions never reconcile at once during an upgrade.
    "deployment-strategy": "Recreate: no overlap of two operators",
    # Egress stays open: the API server, MLflow and object stores have addresses the chart
    # cannot know (values networkPolicy; ingress is restricted).
    "pod-networkpolicy": "egress addresses unknown to the chart",
}


def kube_score(tool: Path, paths: list[Path]) -> list[dict[str, Any]]:
    """kube-score's per-object results (JSON), with the ignored checks left out."""
    ignore = [arg for check in KUBE_SCORE_IGNORED for arg in ("--ignore-test", check)]
    done = subprocess.run(
        [str(tool), "score", "--output-format", "json", *ignore, *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        objects: list[dict[str, Any]] = json.loads(done.stdout)
    except json.JSONDecodeError as e:
        raise AssertionError(f"kube-score printed no JSON:\n{done.stderr[-3000:]}") from e
    return objects


def kube_score_findings(objects: list[dict[str, Any]]) -> list[str]:
    """Critical findings, and warnings that are not accepted decisions, one line each."""
    findings = []
    for obj in objects:
        for result in obj["checks"]:
            check_id, grade = result["check"]["id"], result["grade"]
            if result["skipped"] or grade >= 10:
                continue
            if grade > 1 and check_id in KUBE_SCORE_ACCEPTED_WARNINGS:
                continue
            summaries = "; ".join(c["summary"] for c in result.get("comments") or [])
            level = "CRITICAL" if grade <= 1 else "WARNING"
            findings.append(f"{level} {check_id} {obj['object_name']}: {summaries}")
    return findings


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
