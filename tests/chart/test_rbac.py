"""The chart's namespaced RBAC on the real API server: least privilege, checked by asking the
authorizer (SubjectAccessReview, what `kubectl auth can-i --as` does) for the operator's
ServiceAccount; then the real operator runs *as* that ServiceAccount (a TokenRequest token in a
kubeconfig) and completes a pipeline run to Promoted, so the rules are also enough.

Three namespaces: the release's (operator, ServiceAccount), a watched one, and an unrelated one.
"""

from __future__ import annotations

import base64
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from cluster.binaries import binaries
from cluster.controlplane import ClusterState
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from operator_harness import OperatorProcess, Refit, pipeline_body, wait_for

from tests.chart.render import render_chart

# What the operator's permissions and peering consist of (the Deployment itself cannot run
# here: no images; the operator runs as a process with the ServiceAccount's token instead).
APPLIED_KINDS = {
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "KopfPeering",
}


@dataclass(frozen=True)
class Install:
    release_ns: str
    watched: str
    other: str
    service_account: str
    objects: list[dict[str, Any]]

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.release_ns}:{self.service_account}"


def _kubectl(cluster: ClusterState, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(binaries().kubectl), "--kubeconfig", str(cluster.kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def install(
    cluster: ClusterState, api_client: client.ApiClient, namespace: str
) -> Iterator[Install]:
    """The chart's ServiceAccount and RBAC (namespaced mode, watching `namespace`), applied."""
    core = client.CoreV1Api(api_client)
    suffix = secrets.token_hex(3)
    release_ns, other = f"refit-sys-{suffix}", f"unrelated-{suffix}"
    for name in (release_ns, other):
        core.create_namespace(
            client.V1Namespace(
                metadata=client.V1ObjectMeta(name=name, labels={"refit.dev/test": "true"})
            )
        )
    # A unique release name: the chart's ClusterRole and ClusterRoleBinding are cluster-scoped
    # and other tests (and other sessions) share this API server.
    values = {"watchNamespaces": [namespace], "fullnameOverride": f"refit-{suffix}"}
    objects = [o for o in render_chart(values, namespace=release_ns) if o["kind"] in APPLIED_KINDS]
    _kubectl(cluster, "apply", "-f", "-", stdin=yaml.safe_dump_all(objects))
    sa = next(o["metadata"]["name"] for o in objects if o["kind"] == "ServiceAccount")
    try:
        yield Install(release_ns, namespace, other, sa, objects)
    finally:
        rbac = client.RbacAuthorizationV1Api(api_client)
        for o in objects:
            try:
                if o["kind"] == "ClusterRole":
                    rbac.delete_cluster_role(o["metadata"]["name"])
                elif o["kind"] == "ClusterRoleBinding":
                    rbac.delete_cluster_role_binding(o["metadata"]["name"])
            except ApiException as e:  # teardown must not mask the test's result
                if e.status != 404:
                    raise
        for name in (release_ns, other):
            core.delete_namespace(name, propagation_policy="Background")


def allowed(
    api: client.ApiClient,
    user: str,
    verb: str,
    resource: str,
    namespace: str | None = None,
    group: str = "",
    subresource: str | None = None,
) -> bool:
    """The authorizer's answer for the ServiceAccount (its groups as the token would carry)."""
    sa_ns = user.split(":")[2]
    review = client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(
            user=user,
            groups=[
                "system:serviceaccounts",
                f"system:serviceaccounts:{sa_ns}",
                "system:authenticated",
            ],
            resource_attributes=client.V1ResourceAttributes(
                verb=verb,
                group=group,
                resource=resource,
                subresource=subresource,
                namespace=namespace,
            ),
        )
    )
    answer = client.AuthorizationV1Api(api).create_subject_access_review(review)
    return bool(answer.status.allowed)


# (verb, group, resource, subresource, where): where is "watched", "release", "other" or
# "cluster" (no namespace: cluster-wide, e.g. list across all namespaces).
DENIED = [
    # Secrets: never listed or watched anywhere, not even where the operator works...
    *[(v, "", "secrets", None, "watched") for v in ("list", "watch", "create", "update", "delete")],
    # ...and not read at all outside the namespaces it serves.
    *[
        (v, "", "secrets", None, w)
        for v in ("get", "list", "watch")
        for w in ("release", "other", "cluster")
    ],
    # Jobs and pods: nothing outside the watched namespaces; no pods created or exec'd anywhere.
    *[
        (v, "batch", "jobs", None, w)
        for v in ("create", "delete", "list")
        for w in ("release", "other", "cluster")
    ],
    *[("create", "", "pods", None, w) for w in ("watched", "release", "other")],
    ("create", "", "pods", "exec", "watched"),
    ("get", "", "pods", "log", "other"),
    ("list", "", "pods", None, "other"),
    ("update", "batch", "jobs", None, "watched"),  # Jobs are created and deleted, never changed
    # Nothing cluster-scoped at all in the namespaced mode: not even reading CRDs or namespaces.
    *[
        (v, "apiextensions.k8s.io", "customresourcedefinitions", None, "cluster")
        for v in ("get", "list", "watch")
    ],
    *[(v, "", "namespaces", None, "cluster") for v in ("list", "watch")],
    # Its own CRDs and anyone's RBAC: no changes, no escalation.
    *[
        (v, "apiextensions.k8s.io", "customresourcedefinitions", None, "cluster")
        for v in ("create", "update", "patch", "delete")
    ],
    *[
        (v, "rbac.authorization.k8s.io", "clusterroles", None, "cluster")
        for v in ("create", "update", "escalate", "bind")
    ],
    *[
        (v, "rbac.authorization.k8s.io", "clusterrolebindings", None, "cluster")
        for v in ("create", "update")
    ],
    *[
        (v, "rbac.authorization.k8s.io", r, None, "watched")
        for v in ("create", "update", "escalate", "bind")
        for r in ("roles", "rolebindings")
    ],
    # No minting tokens, no impersonation, no ConfigMaps, no namespaces.
    ("create", "", "serviceaccounts", "token", "watched"),
    ("impersonate", "", "serviceaccounts", None, "watched"),
    ("impersonate", "", "users", None, "cluster"),
    ("get", "", "configmaps", None, "watched"),
    ("delete", "", "namespaces", None, "cluster"),
    # Refit's own objects: nothing outside the watched namespaces.
    *[
        (v, "refit.dev", "trainingpipelines", None, w)
        for v in ("list", "patch")
        for w in ("release", "other", "cluster")
    ],
    *[
        (v, "refit.dev", "trainingruns", None, w)
        for v in ("create", "delete")
        for w in ("other", "cluster")
    ],
    ("create", "refit.dev", "trainingpipelines", None, "watched"),  # people create pipelines
    ("delete", "refit.dev", "trainingpipelines", None, "watched"),
]
ALLOWED = [
    *[
        (v, "refit.dev", "trainingpipelines", None, "watched")
        for v in ("get", "list", "watch", "patch")
    ],
    ("patch", "refit.dev", "trainingpipelines", "status", "watched"),
    *[
        (v, "refit.dev", "trainingruns", None, "watched")
        for v in ("get", "list", "watch", "create", "delete", "patch")
    ],
    ("patch", "refit.dev", "trainingruns", "status", "watched"),
    *[(v, "batch", "jobs", None, "watched") for v in ("get", "list", "watch", "create", "delete")],
    *[(v, "", "pods", None, "watched") for v in ("get", "list", "watch")],
    ("create", "", "events", None, "watched"),
    ("get", "", "secrets", None, "watched"),  # to report a referenced Secret that is missing
    *[(v, "kopf.dev", "kopfpeerings", None, "watched") for v in ("get", "list", "watch", "patch")],
]
RBAC_CHECKS = len(DENIED) + len(ALLOWED)


def _where(inst: Install, where: str) -> str | None:
    return {"watched": inst.watched, "release": inst.release_ns, "other": inst.other}.get(where)


def test_operator_service_account_has_least_privilege(
    install: Install, api_client: client.ApiClient
) -> None:
    wrongly_allowed = [
        check
        for check in DENIED
        if allowed(
            api_client,
            install.user,
            check[0],
            check[2],
            _where(install, check[4]),
            check[1],
            check[3],
        )
    ]
    wrongly_denied = [
        check
        for check in ALLOWED
        if not allowed(
            api_client,
            install.user,
            check[0],
            check[2],
            _where(install, check[4]),
            check[1],
            check[3],
        )
    ]
    assert wrongly_allowed == [] and wrongly_denied == []


def test_kubectl_auth_can_i_agrees(install: Install, cluster: ClusterState) -> None:
    """The same answers through kubectl's impersonation, as a cluster admin would ask."""

    def can_i(*args: str) -> str:
        done = subprocess.run(
            [
                str(binaries().kubectl),
                "--kubeconfig",
                str(cluster.kubeconfig),
                "auth",
                "can-i",
                f"--as={install.user}",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return done.stdout.strip()  # exit 1 with "no" when denied

    assert can_i("list", "secrets", "-n", install.watched) == "no"
    assert can_i("get", "secrets", "-n", install.other) == "no"
    assert can_i("create", "jobs.batch", "-n", install.other) == "no"
    assert can_i("create", "customresourcedefinitions.apiextensions.k8s.io") == "no"
    assert can_i("create", "jobs.batch", "-n", install.watched) == "yes"
    assert can_i("watch", "trainingpipelines.refit.dev", "-n", install.watched) == "yes"


def _token_kubeconfig(cluster: ClusterState, token: str, path: Path) -> Path:
    ca = base64.b64encode((cluster.path / "pki" / "ca.crt").read_bytes()).decode()
    cfg = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "c", "cluster": {"server": cluster.server, "certificate-authority-data": ca}}
        ],
        "users": [{"name": "refit-operator", "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "refit-operator"}}],
        "current-context": "c",
    }
    path.write_text(yaml.safe_dump(cfg))
    path.chmod(0o600)
    return path


def test_operator_running_as_its_service_account_completes_a_run(
    install: Install,
    cluster: ClusterState,
    api_client: client.ApiClient,
    mlflow_server: str,
    tmp_path: Path,
) -> None:
    # A bound token from the TokenRequest API (what `kubectl create token` does), short-lived.
    # Not impersonation (`as:` in the kubeconfig): neither the kubernetes Python client's
    # kubeconfig loader (37.0.2) nor kopf (1.45.2) reads `as:`, so the operator would silently run as admin.
    # `kubectl auth whoami` below proves who the kubeconfig authenticates as.
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600)
    )
    token = (
        client.CoreV1Api(api_client)
        .create_namespaced_service_account_token(
            install.service_account, install.release_ns, request
        )
        .status.token
    )
    kubeconfig = _token_kubeconfig(cluster, token, tmp_path / "operator.kubeconfig")
    whoami = subprocess.run(
        [
            str(binaries().kubectl),
            "--kubeconfig",
            str(kubeconfig),
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert whoami.stdout == install.user, whoami.stderr

    refit = Refit(api_client, install.watched)  # people apply pipelines as themselves (admin)
    # Peering as the chart configures it: a KopfPeering in the watched namespace.
    peering = next(o["metadata"]["name"] for o in install.objects if o["kind"] == "KopfPeering")
    operator = OperatorProcess(
        cluster,
        install.watched,
        mlflow_server,
        tmp_path / "operator.log",
        extra_env={"REFIT_PEERING": peering},
        kubeconfig=kubeconfig,
    ).start()
    try:
        refit.apply_pipeline(pipeline_body("least-privilege"))
        wait_for(
            "Ready",
            lambda: (
                (c := refit.condition(refit.pipeline("least-privilege"), "Ready"))
                and c["status"] == "True"
            ),
        )
        refit.create_run("least-privilege-1", "least-privilege")
        run = wait_for("run finished", lambda: refit.terminal_run("least-privilege-1"), timeout=480)
        assert run["status"]["phase"] == "Promoted", run["status"]
        assert operator.alive_and_healthy()
        log = operator.log_path.read_text(errors="replace")
        # Nothing it tried was forbidden: the rules are enough, not just tolerated.
        assert "Forbidden" not in log and "forbidden" not in log, log[-4000:]
    finally:
        operator.stop()
        print(f"--- operator log ---\n{operator.log_tail(80)}")
