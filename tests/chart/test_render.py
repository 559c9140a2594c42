"""What `helm template` renders in each install mode: the operator Deployment, least-privilege
RBAC, kopf peering objects, monitoring objects and the optional MLflow server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.render import CHART, NAMESPACE, find, one, render_chart

NAMESPACED = {"watchNamespaces": ["team-a", "team-b"]}

# What the operator touches in a namespace it serves (group, resource): verbs.
NAMESPACE_RULES = {
    ("refit.dev", "trainingpipelines"): {"get", "list", "watch", "patch"},
    ("refit.dev", "trainingpipelines/status"): {"get", "patch", "update"},
    ("refit.dev", "trainingpipelines/finalizers"): {"update"},
    ("refit.dev", "trainingruns"): {"get", "list", "watch", "create", "delete", "patch"},
    ("refit.dev", "trainingruns/status"): {"get", "patch", "update"},
    ("refit.dev", "trainingruns/finalizers"): {"update"},
    ("batch", "jobs"): {"get", "list", "watch", "create", "delete"},
    ("", "pods"): {"get", "list", "watch"},
    ("", "events"): {"create", "patch"},
    ("events.k8s.io", "events"): {"create", "patch"},
    ("", "secrets"): {"get"},
}
CRD_DISCOVERY = {("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"}}


def grants(role: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert "resourceNames" not in rule and "nonResourceURLs" not in rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out.setdefault((group, resource), set()).update(rule["verbs"])
    return out


def env_of(deployment: dict[str, Any]) -> dict[str, Any]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


@pytest.fixture(scope="module")
def cluster_wide() -> list[dict[str, Any]]:
    return render_chart({})


@pytest.fixture(scope="module")
def namespaced() -> list[dict[str, Any]]:
    return render_chart(NAMESPACED)


def test_every_namespaced_object_names_its_namespace(
    cluster_wide: list[dict[str, Any]], namespaced: list[dict[str, Any]]
) -> None:
    cluster_scoped = {"ClusterRole", "ClusterRoleBinding", "ClusterKopfPeering"}
    for obj in cluster_wide + namespaced:
        has_namespace = "namespace" in obj["metadata"]
        assert has_namespace != (obj["kind"] in cluster_scoped), obj["metadata"]


def test_operator_deployment(cluster_wide: list[dict[str, Any]]) -> None:
    deployment = one(cluster_wide, "Deployment", "refit")
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "refit"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    assert container["image"] == f"ghcr.io/refit-dev/refit-operator:{chart_app_version()}"
    assert container["args"] == ["operator"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["runAsNonRoot"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": 9090, "health": 8080}
    assert container["resources"]["limits"]["memory"]
    assert container["resources"]["requests"]["cpu"]
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]


def chart_app_version() -> str:
    return str(yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"])


def test_operator_environment(cluster_wide: list[dict[str, Any]]) -> None:
    env = env_of(one(cluster_wide, "Deployment", "refit"))
    assert env["REFIT_NAMESPACES"] == ""
    assert env["REFIT_MLFLOW_TRACKING_URI"] == ""
    assert env["REFIT_MAX_CONCURRENT_JOBS"] == "0"
    assert env["REFIT_METRICS_PORT"] == "9090"
    assert env["REFIT_HEALTH_PORT"] == "8080"
    assert env["REFIT_PEERING"] == "refit"
    assert env["REFIT_LOG_FORMAT"] == "json"
    assert env["POD_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}


def test_cluster_wide_rbac(cluster_wide: list[dict[str, Any]]) -> None:
    assert not find(cluster_wide, "Role") and not find(cluster_wide, "RoleBinding")
    role = one(cluster_wide, "ClusterRole", "refit")
    assert grants(role) == {
        **NAMESPACE_RULES,
        **CRD_DISCOVERY,
        ("kopf.dev", "clusterkopfpeerings"): {"get", "list", "watch", "patch"},
        ("", "namespaces"): {"list", "watch"},
    }
    binding = one(cluster_wide, "ClusterRoleBinding", "refit")
    assert binding["roleRef"]["name"] == "refit"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "refit", "namespace": NAMESPACE}
    ]
    assert one(cluster_wide, "ClusterKopfPeering", "refit")
    assert not find(cluster_wide, "KopfPeering")


def test_namespaced_rbac(namespaced: list[dict[str, Any]]) -> None:
    roles = find(namespaced, "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    for role in roles:
        assert grants(role) == {
            **NAMESPACE_RULES,
            ("kopf.dev", "kopfpeerings"): {"get", "list", "watch", "patch"},
        }
    for binding in find(namespaced, "RoleBinding"):
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "refit",
        }
        assert binding["subjects"][0]["namespace"] == NAMESPACE
    # Nothing cluster-scoped: the operator turns kopf's scanning off for a fixed namespace list
    # (tests/chart/test_rbac.py runs it with exactly these rules).
    assert not find(namespaced, "ClusterRole") and not find(namespaced, "ClusterRoleBinding")
    peerings = find(namespaced, "KopfPeering")
    assert sorted(p["metadata"]["namespace"] for p in peerings) == ["team-a", "team-b"]
    assert not find(namespaced, "ClusterKopfPeering")
    env = env_of(one(namespaced, "Deployment", "refit"))
    assert env["REFIT_NAMESPACES"] == "team-a,team-b"


def test_no_wildcards_anywhere(
    cluster_wide: list[dict[str, Any]], namespaced: list[dict[str, Any]]
) -> None:
    for role in find(cluster_wide + namespaced, "ClusterRole") + find(namespaced, "Role"):
        for (group, resource), verbs in grants(role).items():
            assert "*" not in (group, resource) and "*" not in verbs


def test_rbac_and_service_account_can_be_brought_by_the_user() -> None:
    objects = render_chart(
        {"rbac": {"create": False}, "serviceAccount": {"create": False, "name": "ops"}}
    )
    kinds = {o["kind"] for o in objects}
    assert not kinds & {
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "ServiceAccount",
    }
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "ops"


def test_standalone_peering_creates_no_peering_object() -> None:
    objects = render_chart({"operator": {"peering": "standalone"}})
    assert not find(objects, "ClusterKopfPeering") and not find(objects, "KopfPeering")


def test_metrics_service_selects_the_operator(cluster_wide: list[dict[str, Any]]) -> None:
    service = one(cluster_wide, "Service", "refit-metrics")
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
    ]
    pod_labels = one(cluster_wide, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["metadata"]["labels"]["refit.dev/metrics-job"] == "refit-operator"


def test_monitoring_objects_are_off_by_default(cluster_wide: list[dict[str, Any]]) -> None:
    assert not find(cluster_wide, "ServiceMonitor") and not find(cluster_wide, "PrometheusRule")


def test_service_monitor() -> None:
    objects = render_chart({"serviceMonitor": {"enabled": True, "labels": {"release": "kps"}}})
    monitor = one(objects, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "kps"
    # job="refit-operator" comes from the Service's label, whatever the release name.
    assert monitor["spec"]["jobLabel"] == "refit.dev/metrics-job"
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    # The series' own `namespace` label (the pipeline's) must win over the target's.
    assert endpoint["honorLabels"] is True
    service = one(objects, "Service", "refit-metrics")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )


def test_prometheus_rule_embeds_the_alert_file() -> None:
    shipped = yaml.safe_load((CHART / "files" / "alerts.yaml").read_text())
    rule = one(render_chart({"prometheusRule": {"enabled": True}}), "PrometheusRule")
    assert rule["spec"] == shipped


def test_prometheus_rule_filters_and_labels() -> None:
    extra = {"name": "mine", "rules": [{"record": "x:y", "expr": "vector(1)"}]}
    rule = one(
        render_chart(
            {
                "prometheusRule": {
                    "enabled": True,
                    "disabledAlerts": ["RefitModelStale"],
                    "additionalAlertLabels": {"team": "ml", "severity": "page"},
                    "extraGroups": [extra],
                }
            }
        ),
        "PrometheusRule",
    )
    rules = [r for g in rule["spec"]["groups"] for r in g.get("rules", []) if "alert" in r]
    assert "RefitModelStale" not in {r["alert"] for r in rules}
    assert len(rules) == 4
    for r in rules:
        assert r["labels"]["team"] == "ml"
        assert r["labels"]["severity"] in {"warning", "critical"}  # the rule's own wins
    assert rule["spec"]["groups"][-1] == extra


def test_grafana_dashboard(cluster_wide: list[dict[str, Any]]) -> None:
    configmap = one(cluster_wide, "ConfigMap", "refit-dashboard")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(configmap["data"]["refit.json"])
    assert dashboard["uid"] == "refit-overview"
    assert dashboard == json.loads((CHART / "files" / "dashboard.json").read_text())


def test_bundled_mlflow() -> None:
    objects = render_chart({"mlflow": {"enabled": True}})
    deployment = one(objects, "Deployment", "refit-mlflow")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert " ".join(container["command"] + container["args"]) == (
        "mlflow server --backend-store-uri sqlite:////mlflow/mlflow.db"
        " --artifacts-destination /mlflow/artifacts --serve-artifacts --host 0.0.0.0 --port 5000"
    )
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    assert one(objects, "Service", "refit-mlflow")["spec"]["ports"][0]["port"] == 5000
    claim = one(objects, "PersistentVolumeClaim", "refit-mlflow")
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    url = f"http://refit-mlflow.{NAMESPACE}.svc:5000"
    assert env_of(one(objects, "Deployment", "refit"))["REFIT_MLFLOW_TRACKING_URI"] == url
    # MLflow's Host-header guard must accept the name the operator and Jobs use.
    allowed = env_of(deployment)["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")
    assert f"refit-mlflow.{NAMESPACE}.svc:*" in allowed


def test_external_mlflow_and_credentials() -> None:
    objects = render_chart(
        {
            "operator": {
                "mlflowTrackingUri": "https://mlflow.example.com",
                "mlflowCredentialsSecret": "mlflow-creds",
            }
        }
    )
    assert not find(objects, "Deployment", "refit-mlflow")
    deployment = one(objects, "Deployment", "refit")
    assert env_of(deployment)["REFIT_MLFLOW_TRACKING_URI"] == "https://mlflow.example.com"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "mlflow-creds"}}]


def test_notes_tell_how_to_upgrade_crds() -> None:
    notes = (CHART / "templates" / "NOTES.txt").read_text()
    readme = (CHART / "README.md").read_text()
    for text in (notes, readme):
        assert "kubectl apply --server-side -f charts/refit/crds/" in text


def test_values_file_matches_schema_keys() -> None:
    # Every top-level value is described by the schema (which forbids unknown keys).
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert set(values) <= set(schema["properties"])


def test_chart_dir_layout() -> None:
    for path in [
        "Chart.yaml",
        "values.yaml",
        "values.schema.json",
        "README.md",
        "templates/NOTES.txt",
    ]:
        assert (CHART / path).is_file(), path
    assert Path(CHART / "files" / "alerts.yaml").is_file()


def test_network_policies_allow_only_the_served_ports() -> None:
    objects = render_chart({"mlflow": {"enabled": True}})
    operator = one(objects, "NetworkPolicy", "refit")
    assert operator["spec"]["policyTypes"] == ["Ingress"]
    ports = [p["port"] for rule in operator["spec"]["ingress"] for p in rule["ports"]]
    assert ports == ["metrics", "health"]
    mlflow = one(objects, "NetworkPolicy", "refit-mlflow")
    assert [p["port"] for p in mlflow["spec"]["ingress"][0]["ports"]] == ["http"]
    scrapers = [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}]
    limited = one(render_chart({"networkPolicy": {"metricsFrom": scrapers}}), "NetworkPolicy")
    metrics_rule, health_rule = limited["spec"]["ingress"]
    assert metrics_rule["from"] == scrapers and "from" not in health_rule
    assert not find(render_chart({"networkPolicy": {"enabled": False}}), "NetworkPolicy")
