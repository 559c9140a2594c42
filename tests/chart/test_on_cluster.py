"""The rendered chart, in both install modes, accepted by the real API server (server-side dry
run), CRDs included."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from cluster.binaries import binaries
from cluster.controlplane import ClusterState

from tests.chart.render import render_chart

# Prometheus Operator kinds: the test cluster has no such CRDs (a real cluster with the
# Prometheus Operator does); everything else must be accepted as rendered.
NOT_INSTALLED_HERE = {"ServiceMonitor", "PrometheusRule"}


def server_dry_run(cluster: ClusterState, objects: list[dict[str, Any]]) -> str:
    manifest = yaml.safe_dump_all([o for o in objects if o["kind"] not in NOT_INSTALLED_HERE])
    done = subprocess.run(
        [
            str(binaries().kubectl),
            "--kubeconfig",
            str(cluster.kubeconfig),
            "apply",
            "--server-side",
            "--dry-run=server",
            "--field-manager=refit-chart-test",
            "-f",
            "-",
        ],
        input=manifest,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    "mode",
    ["cluster-wide", "namespaced", "with-mlflow-and-monitoring"],
)
def test_rendered_chart_is_accepted_by_the_api_server(
    cluster: ClusterState, namespace: str, mode: str
) -> None:
    values: dict[str, Any] = {
        "cluster-wide": {},
        "namespaced": {"watchNamespaces": [namespace]},
        "with-mlflow-and-monitoring": {
            "mlflow": {"enabled": True},
            "serviceMonitor": {"enabled": True},
            "prometheusRule": {"enabled": True},
        },
    }[mode]
    objects = render_chart(values, namespace=namespace, include_crds=True)
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "ServiceAccount", "CustomResourceDefinition"} <= kinds
    assert ("Role" in kinds) == (mode == "namespaced")
    out = server_dry_run(cluster, objects)
    assert "deployment.apps/" in out and "(server dry run)" in out


KIND_DIR = Path(__file__).resolve().parents[1] / "kind"


def test_kind_e2e_install_is_accepted_by_the_api_server(
    cluster: ClusterState, namespace: str
) -> None:
    """What `make kind-e2e` installs and applies (it cannot run here: no Docker engine) is
    accepted by a real API server: the chart with tests/kind/values.yaml, and the example."""
    script = KIND_DIR / "e2e.sh"
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    values = yaml.safe_load((KIND_DIR / "values.yaml").read_text())
    objects = render_chart(values, namespace=namespace, include_crds=True)
    operator = next(
        o for o in objects if o["kind"] == "Deployment" and "mlflow" not in o["metadata"]["name"]
    )
    # kind-loaded images exist only on the node: a pull would fail.
    assert operator["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Never"
    assert any(o["kind"] == "Deployment" and "mlflow" in o["metadata"]["name"] for o in objects)
    out = server_dry_run(cluster, objects)
    assert "(server dry run)" in out
